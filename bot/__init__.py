"""The WeChat bot: the webhook for the ten district accounts, the chat dialog, the menu and the chat simulator."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the webhook, the citizens' reply page (and, in demo mode, the simulator page) and the `wechat` and
    `simulate` commands."""
    from admin_web import csrf
    from admin_web.auth import serves_no_staff
    from bot import menu, reply_page, simulator, webhook

    # CSRF tokens protect cookie sessions; the webhook is authenticated by WeChat's signature, and the simulator's
    # relay acts with no session at all (it can do only what any WeChat user can).
    csrf.exempt(webhook.bp)
    csrf.exempt(simulator.send_from_page)
    serves_no_staff(webhook.bp)
    app.session_interface = webhook.WithoutSessionFor(app.session_interface, "/wechat/")
    webhook.init_account_cache(app)
    app.register_blueprint(webhook.bp)
    app.register_blueprint(simulator.bp)
    app.register_blueprint(reply_page.bp)
    reply_page.learn_served_address(app)
    app.cli.add_command(menu.wechat_group)
    app.cli.add_command(simulator.simulate_command)
