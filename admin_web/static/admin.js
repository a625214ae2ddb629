// Small progressive enhancements; every page works without them.
(function () {
  "use strict";
  // A dispatch form's department select picks the matching unit (data-dept on the unit options).
  document.querySelectorAll("form[data-dispatch]").forEach(function (form) {
    var dept = form.querySelector("select[name=dept_type]");
    var unit = form.querySelector("select[name=unit_id]");
    if (!dept || !unit) { return; }
    dept.addEventListener("change", function () {
      var match = unit.querySelector('option[data-dept="' + dept.value + '"]');
      if (match) { unit.value = match.value; }
    });
  });
  // A select marked data-autosubmit submits its form when changed (the district pickers).
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });
  // The classifier's confidence bars: their width is set here, since the CSP allows no style attributes.
  document.querySelectorAll(".score[data-width]").forEach(function (bar) {
    bar.style.width = Number(bar.getAttribute("data-width")) + "px";
  });
  // A submitted form's buttons are disabled so a double click does not post twice.
  document.querySelectorAll("form[method=post]").forEach(function (form) {
    form.addEventListener("submit", function () {
      form.querySelectorAll("button[type=submit]").forEach(function (b) {
        setTimeout(function () { b.disabled = true; }, 0);
      });
    });
  });
})();
