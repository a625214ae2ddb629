"""The custom menu every district account shows: 我要反映 · 我的诉求 · 办事指南, all CLICK buttons.

Menus: https://developers.weixin.qq.com/doc/offiaccount/Custom_Menus/Creating_Custom-Defined_Menu.html
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

import click
from flask import Flask, current_app
from sqlalchemy import select

from models import WechatAccount, utcnow
from models.db import get_session
from wechat.api import WechatApiError, client_for


class MenuKey(StrEnum):
    """The EventKey of each CLICK button, as the dialog receives it."""

    REPORT = "REPORT"
    MY_PETITIONS = "MY_PETITIONS"
    GUIDE = "GUIDE"


MENU_LABELS: dict[MenuKey, str] = {
    MenuKey.REPORT: "我要反映",
    MenuKey.MY_PETITIONS: "我的诉求",
    MenuKey.GUIDE: "办事指南",
}


def menu_definition() -> dict[str, Any]:
    """The body of the create-menu call: three top-level CLICK buttons."""
    return {
        "button": [{"type": "click", "name": label, "key": key.value} for key, label in MENU_LABELS.items()]
    }


def push_menu(account: WechatAccount, app: Flask, now: dt.datetime) -> None:
    """Create the menu on `account` through the WeChat API and note when.

    :raises WechatApiError: when WeChat refuses the menu or cannot be reached.
    """
    with client_for(account, app) as client:
        client.create_menu(menu_definition())
    account.menu_pushed_at = now


@click.group("wechat")
def wechat_group() -> None:
    """The district WeChat official accounts."""


@wechat_group.command("push-menu")
@click.option("--district", "district_code", default=None, help="Only this district's account (e.g. shinan).")
def push_menu_command(district_code: str | None) -> None:
    """Create the menu (我要反映 · 我的诉求 · 办事指南) on every enabled account, or on one."""
    session = get_session()
    query = select(WechatAccount).where(WechatAccount.enabled.is_(True)).order_by(WechatAccount.district_code)
    if district_code is not None:
        query = query.where(WechatAccount.district_code == district_code)
    accounts = list(session.scalars(query))
    if not accounts:
        raise click.ClickException(f"no enabled account{' for ' + district_code if district_code else ''}")
    # Each push is a WeChat call: no transaction may stay open across it.
    session.commit()
    failed = []
    for account in accounts:
        try:
            push_menu(account, current_app._get_current_object(), utcnow())
        except WechatApiError as exc:
            session.rollback()
            failed.append(account.district_code)
            click.echo(f"{account.district_code}: failed: {exc}", err=True)
            continue
        session.commit()
        click.echo(f"{account.district_code}: menu created")
    if failed:
        raise click.ClickException(f"menu not created for {', '.join(failed)}")
