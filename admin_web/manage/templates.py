"""The template messages each district account sends for each citizen-facing event, and their field mapping."""

from __future__ import annotations

import json
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from admin_web.audit import audit
from admin_web.auth import role_required, staff
from admin_web.manage.scope import (
    MANAGER_ROLES,
    district_or_404,
    manage,
    managed_districts,
)
from models import (
    NotificationTemplate,
)
from models.db import get_session
from workflow.messages import FIELD_TYPES
from workflow.notify import EVENTS

# --- notification templates ----------------------------------------------------------------------------------------


def parse_field_mapping(text: str) -> dict[str, Any]:
    """A template's field mapping from its JSON text: ``{"keyword": {"source"|"value": …, "type": …}}``.

    :raises ValueError: not JSON, not an object of objects, a keyword without source or value, or an unknown type
        (the message names the keyword).
    """
    try:
        mapping = json.loads(text or "{}")
    except json.JSONDecodeError as exc:
        raise ValueError(f"不是有效的 JSON：第{exc.lineno}行 {exc.msg}") from None
    if not isinstance(mapping, dict):
        raise ValueError("字段映射须为 JSON 对象")
    known_types = sorted({*FIELD_TYPES, "time"})
    for keyword, spec in mapping.items():
        if not isinstance(spec, dict):
            raise ValueError(f"字段「{keyword}」的映射须为对象")
        if "source" not in spec and "value" not in spec:
            raise ValueError(f"字段「{keyword}」须有 source 或 value")
        if spec.get("type") not in known_types:
            raise ValueError(f"字段「{keyword}」的类型须为：{'、'.join(known_types)}")
    return mapping


@manage.get("/templates")
@role_required(*MANAGER_ROLES)
def templates() -> ResponseReturnValue:
    """Each managed district's template per event (events without one are sent as customer-service text)."""
    user = staff()
    session = get_session()
    districts = managed_districts(session, user)
    configured = {
        (t.district_code, t.event): t
        for t in session.scalars(
            select(NotificationTemplate).where(
                NotificationTemplate.district_code.in_([d.code for d in districts])
            )
        )
    }
    return render_template("manage/templates.html", districts=districts, events=EVENTS, configured=configured)


@manage.route("/templates/<code>/<event>", methods=["GET", "POST"])
@role_required(*MANAGER_ROLES)
def edit_template(code: str, event: str) -> ResponseReturnValue:
    """Set which template message an account uses for an event, and how the message's facts fill its fields."""
    user = staff()
    session = get_session()
    district = district_or_404(session, user, code)
    if event not in EVENTS:
        abort(404)
    template = session.scalars(
        select(NotificationTemplate).where(
            NotificationTemplate.district_code == code, NotificationTemplate.event == event
        )
    ).first()
    errors: dict[str, str] = {}
    if request.method == "POST":
        template_id = (request.form.get("template_id") or "").strip()
        if not 1 <= len(template_id) <= 64:
            errors["template_id"] = "请填写模板ID（最多64个字符）"
        try:
            fields = parse_field_mapping(request.form.get("fields") or "")
        except ValueError as exc:
            errors["fields"] = str(exc)
        if not errors:
            if template is None:
                template = NotificationTemplate(district_code=code, event=event)
                session.add(template)
            template.template_id = template_id
            template.fields = fields
            template.enabled = bool(request.form.get("enabled"))
            audit(
                session,
                user,
                "template_saved",
                f"template:{code}/{event}",
                f"{template_id} fields={','.join(fields)} enabled={template.enabled}",
            )
            session.commit()
            flash(f"{district.name}「{EVENTS[event]}」的模板已保存", "success")
            return redirect(url_for("manage.templates"))
    fields_text = (
        request.form.get("fields", "")
        if request.method == "POST"
        else json.dumps(template.fields if template else {}, ensure_ascii=False, indent=2)
    )
    return render_template(
        "manage/template_form.html",
        district=district,
        event=event,
        event_label=EVENTS[event],
        template=template,
        errors=errors,
        form=request.form,
        fields_text=fields_text,
        types=sorted({*FIELD_TYPES, "time"}),
    ), (422 if errors else 200)
