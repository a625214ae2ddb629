"""The WeChat bot: the webhook for the ten district accounts, the chat dialog, the menu and the chat simulator."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the webhook (and, in demo mode, the simulator page) and the `wechat` and `simulate` commands."""
    from bot import menu, simulator, webhook

    app.session_interface = webhook.WithoutSessionFor(app.session_interface, "/wechat/")
    webhook.init_account_cache(app)
    app.register_blueprint(webhook.bp)
    app.register_blueprint(simulator.bp)
    app.cli.add_command(menu.wechat_group)
    app.cli.add_command(simulator.simulate_command)
