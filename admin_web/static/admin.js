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
  // A submitted form's buttons are disabled so a double click does not post twice.
  document.querySelectorAll("form[method=post]").forEach(function (form) {
    form.addEventListener("submit", function () {
      form.querySelectorAll("button[type=submit]").forEach(function (b) {
        setTimeout(function () { b.disabled = true; }, 0);
      });
    });
  });
})();
