"""The yardstick for the webhook: a bare wechatpy + Flask echo bot for the same ten accounts.

It does what any WeChat bot must and nothing more: verify the signature, decrypt, parse, answer with the same text,
encrypt. No database, no dialog. Served like the app:

    QINGSU_CONFIG=<file> gunicorn -w 2 -k gthread --threads 4 'benchmarks.echo_bot:create_echo_app()'

The accounts are read from the same configuration file's ``[[accounts]]`` (see `webhook_load.write_config`).
"""

from __future__ import annotations

import os
import tomllib

from flask import Flask, Response, request
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.replies import TextReply
from wechatpy.utils import check_signature


def create_echo_app(config_path: str | None = None) -> Flask:
    """The echo bot for the accounts of the configuration file (`QINGSU_CONFIG` unless given)."""
    path = config_path or os.environ["QINGSU_CONFIG"]
    with open(path, "rb") as handle:
        accounts = {entry["district"]: entry for entry in tomllib.load(handle)["accounts"]}
    cryptos = {
        code: WeChatCrypto(entry["token"], entry["encoding_aes_key"], entry["appid"])
        for code, entry in accounts.items()
        if entry.get("encoding_aes_key")
    }
    app = Flask(__name__)

    @app.route("/wechat/<district_code>", methods=["GET", "POST"])
    def echo(district_code: str) -> Response:
        entry = accounts.get(district_code)
        if entry is None:
            return Response("unknown district", status=404)
        args = request.args
        timestamp, nonce = args.get("timestamp", ""), args.get("nonce", "")
        try:
            check_signature(entry["token"], args.get("signature", ""), timestamp, nonce)
        except InvalidSignatureException:
            return Response("bad signature", status=403)
        if request.method == "GET":
            return Response(args.get("echostr", ""))
        crypto = cryptos.get(district_code)
        body = request.get_data()
        if crypto is not None:
            try:
                body = crypto.decrypt_message(body, args.get("msg_signature", ""), timestamp, nonce)
            except (InvalidSignatureException, InvalidAppIdException):
                return Response("cannot decrypt", status=400)
        message = parse_message(body)
        reply = TextReply(content=getattr(message, "content", ""), message=message).render()
        if crypto is not None:
            reply = crypto.encrypt_message(reply, nonce, timestamp)
        return Response(reply, mimetype="application/xml")

    return app
