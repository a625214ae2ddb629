"""执法 petitions: a township (镇街) or a district department that cannot act alone asks the district platform for
joint enforcement through this form; the platform then names the lead and cooperating units."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from admin_web.auth import role_required, staff
from admin_web.blueprint import admin
from admin_web.errors import render_error
from admin_web.navigation import nav_item
from classifier import suggest_if_trained
from models import utcnow
from models.db import get_session
from models.enums import Channel, PetitionKind, Role, UnitLevel
from workflow.errors import InvalidInput
from workflow.intake import submit_petition

ORIGIN_LEVELS = (UnitLevel.STREET, UnitLevel.DISTRICT_DEPARTMENT)
FIELDS = ("content", "location", "contact_name", "contact_phone")


@admin.route("/enforcement/new", methods=["GET", "POST"])
@role_required(Role.HANDLER, Role.UNIT_REVIEWER)
def new_enforcement() -> ResponseReturnValue:
    """The form, and on POST the new petition (待研判 at the district platform)."""
    user = staff()
    unit = user.unit
    if unit is None or unit.level not in ORIGIN_LEVELS or unit.district_code is None:
        return render_error(403, "执法诉求只能由镇(街道)或区(市)职能部门提出。")
    values = {name: (request.form.get(name) or "").strip() for name in FIELDS}
    error: InvalidInput | None = None
    if request.method == "POST":
        session = get_session()
        suggestion = suggest_if_trained(values["content"], unit.district_code)
        try:
            petition = submit_petition(
                session,
                district_code=unit.district_code,
                kind=PetitionKind.ENFORCEMENT,
                content=values["content"],
                now=utcnow(),
                location=values["location"],
                contact_name=values["contact_name"] or user.display_name,
                contact_phone=values["contact_phone"] or user.phone,
                channel=Channel.STAFF,
                origin_unit=unit,
                created_by=user,
                suggestion=None if suggestion is None else suggestion.to_dict(),
            )
        except InvalidInput as invalid:
            session.rollback()
            error = invalid
        else:
            session.commit()
            flash(f"执法诉求 {petition.number} 已提交区(市)平台研判", "success")
            return redirect(url_for("admin.petition_page", number=petition.number))
    page = render_template("admin/enforcement.html", unit=unit, v=values, error=error)
    return page, 422 if error else 200


nav_item("admin.new_enforcement", "发起执法诉求", {Role.HANDLER, Role.UNIT_REVIEWER}, order=60)
