"""The application factory."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask

from qingsu.config import DEFAULTS, apply_secret_environment, check_production, config_path, load_toml, merge


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the application: configuration, database, and every subsystem's `init_app`.

    Opens no connection and runs no migration: `qingsu db upgrade` and `qingsu seed-demo` do that.

    :raises qingsu.config.UnsafeConfiguration: in production (DEMO false, not TESTING) with an example or weak
        secret or the example WeChat accounts; the message names every key to change.
    """
    app = Flask(__name__, instance_path=os.path.abspath("instance"))
    app.config.from_mapping(DEFAULTS)
    if test_config is None:
        loaded = Flask(__name__).config
        loaded.from_file(str(config_path()), load=load_toml, text=False)
        app.config.update(merge(DEFAULTS, {k: v for k, v in loaded.items() if k in DEFAULTS or k.isupper()}))
        apply_secret_environment(app.config, os.environ)
    else:
        app.config.update(merge(DEFAULTS, test_config))
    if os.environ.get("DATABASE_URL") and not (test_config or {}).get("DATABASE"):
        app.config["DATABASE"]["url"] = os.environ["DATABASE_URL"]
    app.config["DATABASE_URL"] = app.config["DATABASE"]["url"]
    check_production(app.config)
    if not app.config.get("SECRET_KEY"):
        raise RuntimeError("SECRET_KEY is not set in the configuration")
    app.config["SESSION_COOKIE_SECURE"] = bool(app.config["SECURITY"]["secure_cookies"])
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["MAX_CONTENT_LENGTH"] = int(app.config["SECURITY"]["max_request_bytes"])

    from models import crypto

    crypto.configure(app.config["SECURITY"]["data_key"])

    import admin_web
    import bot
    import classifier
    import workflow
    from admin_web import input_limits
    from models import db
    from qingsu import data_key, demo, health, schema, volume

    input_limits.init_app(app)
    db.init_app(app)
    schema.init_app(app)
    health.init_app(app)
    demo.init_app(app)
    data_key.init_app(app)
    volume.init_app(app)
    workflow.init_app(app)
    classifier.init_app(app)
    bot.init_app(app)
    admin_web.init_app(app)
    _open_the_webhook_to_wechat()
    if app.config["DEMO"]:
        from models.district import TEN_DISTRICTS
        from qingsu.demo_templates import register_demo_templates
        from wechat.fake import FakeWechat, mount_fake

        # The demo's WeChat API: every message a citizen would receive is shown at /fake-wechat/_fake/inbox. It
        # knows the demo accounts' templates (the ones seed-demo configures), so it checks values as WeChat does.
        # It keeps its state in `[wechat] fake_state_file` when set, so every worker of `gunicorn -w 4` (and the
        # scheduler) sees one WeChat.
        shared = app.config["WECHAT"].get("fake_state_file") or None
        fake = FakeWechat(shared_file=shared)
        register_demo_templates(fake, (account["appid"] for account in app.config.get("ACCOUNTS", [])))
        mount_fake(app, fake, names={code: f"{platform}（{name}）" for code, name, platform, _ in TEN_DISTRICTS})
    if app.config["DEMO"] or app.config["WECHAT"]["api_base_url"] == "self":
        from flask import request

        from wechat.api import learn_own_address

        # The demo runs on any address and port: its WeChat API ("self") and its reply links follow the first request.
        @app.before_request
        def _learn_own_address() -> None:
            learn_own_address(app, request.host_url)
    return app


def _open_the_webhook_to_wechat() -> None:
    """Keep the staff site's checks off the chat edge.

    CSRF tokens protect cookie sessions; the webhook is authenticated by WeChat's signature, and the simulator's relay
    acts with no session at all (it can do only what any WeChat user can). The webhook's requests also skip the staff
    checks, which would otherwise read the session and the signed-in user on every one of them for nothing.
    """
    from admin_web import csrf
    from admin_web.auth import serves_no_staff
    from bot import simulator, webhook

    csrf.exempt(webhook.bp)
    csrf.exempt(simulator.send_from_page)
    serves_no_staff(webhook.bp)
