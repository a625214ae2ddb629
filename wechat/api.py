"""The WeChat API client: wechatpy's `WeChatClient` with a configurable base URL, shared tokens and typed errors.

What changes from wechatpy, and why:

- the base URL comes from ``[wechat] api_base_url`` (wechatpy hard-codes ``https://api.weixin.qq.com``), so the
  tests and the demo talk to the fake in `wechat.fake`;
- tokens come from ``POST /cgi-bin/stable_token`` and live in the shared store of `wechat.tokens`, renewed under its
  lock, so no process invalidates another's token and workers never stampede the token endpoint;
- a rejected token (40001, 42001, 40014) is renewed once and the call retried once (wechatpy retries without end);
- every failure is a `WechatApiError` subclass the outbox can branch on (`retryable`, unsubscribed, quota, …), and
  timeouts are configurable (``[wechat] api_timeout_seconds``, default 5 s).

Use a client as a context manager (``with client_for(account, app) as client:``) so its connections are closed.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Self

import requests
from flask import Flask
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException

from wechat.tokens import TokenStore, obtain_token, token_store_for

if TYPE_CHECKING:
    from models import WechatAccount

OFFICIAL_BASE_URL = "https://api.weixin.qq.com"
DEFAULT_TIMEOUT_SECONDS = 5.0
# A token with less than this left is renewed before a call rather than risk it expiring on the way.
TOKEN_MIN_VALID = dt.timedelta(seconds=60)
TOKEN_ERRCODES = frozenset({40001, 40014, 41001, 42001})


# ------------------------------------------------------------------------------------------------------- errors


class WechatApiError(WeChatClientException):
    """WeChat refused a call or could not be reached. `errcode` is WeChat's code (None for HTTP/network failures).

    `retryable` says whether the same call may succeed later (the outbox backs off and retries those).
    """

    retryable: ClassVar[bool] = False

    def __init__(self, errcode: int | None, errmsg: str, answer: dict[str, Any] | None = None) -> None:
        super().__init__(errcode, errmsg)
        # WeChat's whole JSON answer, for the codes that carry more than errcode/errmsg (45065's msgid).
        self.answer = answer or {}


class WechatAddressUnknownError(WechatApiError):
    """``api_base_url = "self"`` (the demo's fake, at the address the application is served on) before this process
    has served a request to learn that address. Retryable: the next run, after a request, finds it."""

    retryable = True


class WechatTokenError(WechatApiError):
    """The access token was refused even after renewing it (40001, 40014, 41001, 42001)."""

    retryable = True


class WechatCredentialError(WechatApiError):
    """The account is misconfigured: wrong appid or secret, or this server's IP is not whitelisted."""


class WechatUnsubscribedError(WechatApiError):
    """43004: the citizen no longer follows the account; nothing can be sent."""


class WechatWindowClosedError(WechatApiError):
    """45015: more than 48 hours since the citizen last wrote; customer-service messages are refused."""


class WechatQuotaError(WechatApiError):
    """45009/45011/45047: a call quota is used up; retry after backing off."""

    retryable = True


class WechatInvalidFieldError(WechatApiError):
    """47003 (argument invalid — usually a template field over its length), 45002 (content too long)."""


class WechatDuplicateError(WechatApiError):
    """45065: this client_msg_id was already used — the message was delivered before (`answer` has its msgid)."""


class WechatServerError(WechatApiError):
    """WeChat is failing: HTTP 5xx or errcode -1 (system busy)."""

    retryable = True


class WechatTimeoutError(WechatServerError):
    """No answer within the timeout, or no connection; the call may or may not have taken effect."""


_ERRORS: dict[int, type[WechatApiError]] = {
    -1: WechatServerError,
    40013: WechatCredentialError,
    40125: WechatCredentialError,
    40164: WechatCredentialError,
    43004: WechatUnsubscribedError,
    45015: WechatWindowClosedError,
    45009: WechatQuotaError,
    45011: WechatQuotaError,
    45047: WechatQuotaError,
    45002: WechatInvalidFieldError,
    47003: WechatInvalidFieldError,
    45065: WechatDuplicateError,
} | dict.fromkeys(TOKEN_ERRCODES, WechatTokenError)


def error_for(errcode: int, errmsg: str, answer: dict[str, Any] | None = None) -> WechatApiError:
    """The typed exception for WeChat's `errcode` (plain `WechatApiError` for codes without a special meaning)."""
    return _ERRORS.get(errcode, WechatApiError)(errcode, errmsg, answer)


# ------------------------------------------------------------------------------------------------------- results


@dataclass(frozen=True)
class SendResult:
    """A template message's outcome: WeChat's msgid; `duplicate` when client_msg_id showed it was sent before
    (then `msgid` is the earlier send's, when WeChat says it)."""

    msgid: int | None
    duplicate: bool = False


@dataclass(frozen=True)
class MediaFile:
    """A temporary media file downloaded from WeChat."""

    content: bytes
    content_type: str
    filename: str | None


# -------------------------------------------------------------------------------------------------------- client


class QingsuWechatClient(WeChatClient):
    """A wechatpy client for one account, with the changes described in the module docstring.

    wechatpy's API groups (``client.menu``, ``client.message``, …) work too: they all go through `_request`.
    """

    def __init__(
        self,
        appid: str,
        secret: str,
        *,
        store: TokenStore,
        api_base_url: str = OFFICIAL_BASE_URL,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        super().__init__(appid, secret, timeout=timeout, auto_retry=False)
        self.store = store
        self.api_base_url = api_base_url.rstrip("/")
        self.API_BASE_URL = f"{self.api_base_url}/cgi-bin/"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the client's HTTP connections."""
        self._http.close()

    # ------------------------------------------------------------------------------------------------ tokens

    def fetch_access_token(self, force_refresh: bool = False) -> dict[str, Any]:
        """Ask WeChat for the stable access token; stores nothing (`obtain_token` does, under the lock).

        https://developers.weixin.qq.com/doc/offiaccount/Basic_Information/getStableAccessToken.html

        :raises WechatApiError: WechatCredentialError for a wrong appid/secret, WechatServerError, … .
        """
        body = {
            "grant_type": "client_credential",
            "appid": self.appid,
            "secret": self.secret,
            "force_refresh": force_refresh,
        }
        result = self._call("post", f"{self.api_base_url}/cgi-bin/stable_token", params={}, data=body)
        if not isinstance(result, dict) or "access_token" not in result:
            raise WechatServerError(None, f"stable_token answered without a token: {result!r}")
        return result

    def fetch_token(self, force_refresh: bool) -> tuple[str, int]:
        """`fetch_access_token` as ``(token, expires_in)``, the shape `obtain_token` takes."""
        result = self.fetch_access_token(force_refresh)
        return str(result["access_token"]), int(result.get("expires_in", 7200))

    @property
    def access_token(self) -> str:
        """The shared token, renewed first if it has less than a minute left."""
        return obtain_token(self.store, self.appid, self.fetch_token, min_valid=TOKEN_MIN_VALID)

    # --------------------------------------------------------------------------------------------- requests

    def _url(self, url_or_endpoint: str, api_base_url: str | None) -> str:
        if url_or_endpoint.startswith(("http://", "https://")):
            url = url_or_endpoint
        else:
            url = f"{api_base_url or self.API_BASE_URL}{url_or_endpoint}"
        # Some wechatpy API groups carry their own absolute base on the official host: point them here too.
        if url.startswith(OFFICIAL_BASE_URL):
            url = self.api_base_url + url.removeprefix(OFFICIAL_BASE_URL)
        return url

    def _request(self, method: str, url_or_endpoint: str, **kwargs: Any) -> Any:
        """Every API call: the shared token, one renewal and retry if WeChat rejects it, typed errors."""
        url = self._url(url_or_endpoint, kwargs.pop("api_base_url", None))
        params = dict(kwargs.pop("params", None) or {})
        result_processor = kwargs.pop("result_processor", None)
        if "access_token" in params:
            # An explicit token (wechatpy does this for a few calls): no renewal on our side.
            result = self._call(method, url, params=params, **kwargs)
        else:
            token = self.access_token
            try:
                result = self._call(method, url, params={**params, "access_token": token}, **kwargs)
            except WechatTokenError:
                token = obtain_token(
                    self.store, self.appid, self.fetch_token, min_valid=TOKEN_MIN_VALID, rejected=token
                )
                result = self._call(method, url, params={**params, "access_token": token}, **kwargs)
        return result_processor(result) if result_processor else result

    def _call(self, method: str, url: str, *, params: dict[str, Any], **kwargs: Any) -> Any:
        """One HTTP exchange: a dict for JSON answers, the `requests.Response` for files.

        :raises WechatApiError: the typed error for a non-zero errcode, HTTP failure, or timeout.
        """
        data = kwargs.pop("data", None)
        if isinstance(data, dict):
            data = json.dumps(data, ensure_ascii=False).encode("utf-8")
        kwargs.setdefault("timeout", self.timeout)
        # requests' own messages quote the URL with its access token: they are not chained into ours (the
        # outbox stores and shows these texts), only their type is named.
        try:
            response = self._http.request(method=method, url=url, params=params, data=data, **kwargs)
        except requests.Timeout as exc:
            message = f"no answer within {kwargs['timeout']}s from {_path(url)} ({type(exc).__name__})"
            raise WechatTimeoutError(None, message) from None
        except requests.ConnectionError as exc:
            raise WechatTimeoutError(None, f"cannot reach {_path(url)} ({type(exc).__name__})") from None
        if response.status_code >= 500:
            raise WechatServerError(None, f"HTTP {response.status_code} from {_path(url)}")
        if response.status_code >= 400:
            raise WechatApiError(None, f"HTTP {response.status_code} from {_path(url)}")
        if "json" not in response.headers.get("Content-Type", "") and not response.content.startswith(b"{"):
            return response
        try:
            result = json.loads(response.content.decode("utf-8", "replace"), strict=False)
        except ValueError as exc:
            raise WechatServerError(None, f"unreadable answer from {_path(url)}") from exc
        errcode = int(result.get("errcode", 0)) if isinstance(result, dict) else 0
        if errcode != 0:
            raise error_for(errcode, str(result.get("errmsg", "")), result)
        return result

    # ------------------------------------------------------------------------------------- what the others call

    def send_template(
        self,
        openid: str,
        template_id: str,
        data: dict[str, Any],
        url: str | None = None,
        client_msg_id: str | None = None,
    ) -> SendResult:
        """Send a template message; a repeated `client_msg_id` is not delivered twice (reported as `duplicate`).

        https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Template_Message_Interface.html

        `data` is ``{"field": {"value": "…"}}``, values already cut to their keyword type's limits.

        :raises WechatUnsubscribedError: 43004. :raises WechatInvalidFieldError: 47003.
        :raises WechatQuotaError, WechatServerError, WechatTimeoutError: retry later.
        """
        body: dict[str, Any] = {"touser": openid, "template_id": template_id, "data": data}
        if url:
            body["url"] = url
        if client_msg_id:
            body["client_msg_id"] = client_msg_id
        try:
            result = self.post("message/template/send", data=body)
        except WechatDuplicateError as exc:
            return SendResult(msgid=exc.answer.get("msgid"), duplicate=True)
        return SendResult(msgid=result.get("msgid"))

    def send_text(self, openid: str, content: str) -> None:
        """Send a customer-service text message (only within 48 hours of the citizen's last message).

        https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Service_Center_messages.html

        :raises WechatWindowClosedError: 45015. :raises WechatUnsubscribedError: 43004.
        :raises WechatQuotaError, WechatServerError, WechatTimeoutError: retry later.
        """
        self.message.send_text(openid, content)

    def create_menu(self, menu: dict[str, Any]) -> None:
        """Create (replace) the account's custom menu.

        https://developers.weixin.qq.com/doc/offiaccount/Custom_Menus/Creating_Custom-Defined_Menu.html

        :raises WechatApiError: 40016–40027 when WeChat refuses the menu's shape.
        """
        self.menu.create(menu)

    def get_callback_ip(self) -> list[str]:
        """The IP addresses WeChat calls us from; a cheap authenticated call to test an account's connection.

        https://developers.weixin.qq.com/doc/offiaccount/Basic_Information/Get_the_WeChat_server_IP_address.html

        :raises WechatCredentialError: wrong appid/secret. :raises WechatServerError, WechatTimeoutError.
        """
        return list(self.misc.get_wechat_ips())

    def get_media(self, media_id: str) -> MediaFile:
        """Download a temporary media file (an image or voice a citizen sent).

        https://developers.weixin.qq.com/doc/offiaccount/Asset_Management/Get_temporary_materials.html

        :raises WechatApiError: 40007 for an unknown or expired media id.
        """
        response = self.media.download(media_id)
        disposition = response.headers.get("Content-disposition", "")
        filename = disposition.split("filename=", 1)[1].strip('"') if "filename=" in disposition else None
        return MediaFile(response.content, response.headers.get("Content-Type", ""), filename)


def _path(url: str) -> str:
    # Error messages name the endpoint, never the query string with its access token.
    return url.split("?", 1)[0]


# ``[wechat] api_base_url = "self"``: the demo's fake WeChat API, served by this application under /fake-wechat at
# whatever address it is served on (`learn_own_address`), so `qingsu run --port 8000` or gunicorn on any port works.
SELF = "self"
FAKE_PREFIX = "/fake-wechat"


def learn_own_address(app: Flask, host_url: str) -> None:
    """Point ``api_base_url = "self"`` at this application's fake, at `host_url` (the address a request came to)."""
    config = app.config["WECHAT"]
    if config.get("own_address") is None:
        config["own_address"] = host_url.rstrip("/") + FAKE_PREFIX


def api_base_url(app: Flask) -> str:
    """The WeChat API's base URL for `app`, with ``"self"`` resolved.

    :raises WechatAddressUnknownError: ``"self"`` before this process has served a request.
    """
    config = app.config["WECHAT"]
    configured = str(config["api_base_url"])
    if configured != SELF:
        return configured
    own = config.get("own_address")
    if own is None:
        raise WechatAddressUnknownError(
            None,
            'api_base_url = "self": this process has not served a request yet, so it does not know its own address '
            "(open any page of the demo, or set api_base_url to the demo's address + /fake-wechat)",
        )
    return str(own)


def client_for(account: WechatAccount, app: Flask) -> QingsuWechatClient:
    """A client for `account` configured from `app` (base URL, timeout, shared token store).

    :raises WechatAddressUnknownError: see `api_base_url`.
    """
    config = app.config["WECHAT"]
    return QingsuWechatClient(
        account.appid,
        account.secret,
        store=token_store_for(app),
        api_base_url=api_base_url(app),
        timeout=float(config["api_timeout_seconds"]),
    )
