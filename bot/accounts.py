"""The district accounts as the webhook serves them: read once, kept per process with their crypto objects ready.

Every message would otherwise cost a query for the account, another for its district, three Fernet decryptions of
the stored secrets and a fresh AES cipher. An account changes rarely (a platform manager edits it on the admin
site), so each process keeps what it read:

- any change written through the ORM in this process (the admin page, `qingsu seed-demo`, tests) clears every
  process-local cache at once, through mapper events on `WechatAccount`;
- another worker's copy lives at most `[wechat] account_cache_seconds`;
- a request the cached keys refuse (signature, decryption, mode) makes the webhook read the account afresh before
  answering, so a new token or AES key is used from its very first message, in every worker.

What stays stale for at most the lifetime of an entry in another worker is therefore only the switch that
disables an account: it keeps answering for those few seconds.
"""

from __future__ import annotations

import base64
import itertools
import secrets
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import event, select
from sqlalchemy.orm import Session, joinedload
from wechatpy.crypto import PrpCrypto, WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException

from models import District, WechatAccount

# Bumped by every ORM write of an account in this process; an entry read under an older generation is stale.
_generations = itertools.count(1)
_generation = 0


class SecretsPrpCrypto(PrpCrypto):
    """wechatpy's message cipher, with the 16 random bytes WeChat's format puts before each reply drawn from the
    operating system (`secrets`) rather than `random.sample`: unpredictable, and an eighth of the cost. WeChat drops
    them unread after decrypting.

    `encrypt` builds the same bytes as wechatpy's `BasePrpCrypto._encrypt` (random 16 bytes, the message's length as
    four big-endian bytes, the message, the appid, PKCS#7 padding to 32-byte blocks, AES-CBC with the key's first 16
    bytes as IV, base64) in a few calls instead of some forty (`tests/bot/test_reply_render.py` pins them equal)."""

    def get_random_string(self) -> str:
        return secrets.token_hex(8)

    def encrypt(self, text: str, _id: str) -> bytes:  # type: ignore[override]
        message = text.encode()
        plain = b"".join(
            (self.get_random_string().encode(), len(message).to_bytes(4, "big"), message, _id.encode())
        )
        padding = _BLOCK - len(plain) % _BLOCK
        plain += bytes((padding,)) * padding
        encryptor = self.cipher.cipher.encryptor()
        return base64.b64encode(encryptor.update(plain) + encryptor.finalize())

    def decrypt(self, text: str | bytes, _id: str) -> str:  # type: ignore[override]
        """wechatpy's `BasePrpCrypto._decrypt`, step for step (the same text, the same refusals).

        :raises InvalidAppIdException: the message is for another appid.
        :raises Exception: anything else from base64, the cipher, the padding or the length (not for us).
        """
        decryptor = self.cipher.cipher.decryptor()
        # As wechatpy: text as its UTF-8 bytes, whose characters outside base64's alphabet are skipped.
        data = text.encode() if isinstance(text, str) else text
        plain = decryptor.update(base64.b64decode(data)) + decryptor.finalize()
        content = plain[16 : -plain[-1]]
        length = struct.unpack(">I", content[:4])[0]
        message = content[4 : length + 4].decode()
        if content[length + 4 :].decode() != _id:
            raise InvalidAppIdException()
        return message


# WeChat's PKCS#7 block size (wechatpy's `PKCS7Encoder.block_size`): 32 bytes, not AES's 16.
_BLOCK = 32


def _bump(*_args: object) -> None:
    global _generation
    _generation = next(_generations)


for _change in ("after_insert", "after_update", "after_delete"):
    event.listen(WechatAccount, _change, _bump)
    # The district's names, hotline and hours are served with its account.
    event.listen(District, _change, _bump)


@dataclass(frozen=True)
class DistrictNames:
    """What the dialog says about the account's district."""

    code: str
    name: str
    platform_name: str
    # The district's service line and its hours ("" : the bot names the 12345 hotline).
    hotline: str = ""
    service_hours: str = ""


@dataclass(frozen=True)
class ServedAccount:
    """An enabled account with its secrets decrypted and its AES cipher built; shared by the requests of a process.

    `prp` is None in plain mode. Cipher objects are built per call inside `PrpCrypto`, so sharing it across threads
    is safe.
    """

    district_code: str
    appid: str
    token: str
    encoding_aes_key: str | None
    district: DistrictNames
    prp: PrpCrypto | None
    loaded_at: float
    generation: int

    @property
    def safe_mode(self) -> bool:
        """True when messages are AES-encrypted (an EncodingAESKey is set)."""
        return self.prp is not None

    def same_keys(self, other: ServedAccount) -> bool:
        """True when `other` verifies and decrypts exactly as this one does."""
        return (self.appid, self.token, self.encoding_aes_key) == (
            other.appid,
            other.token,
            other.encoding_aes_key,
        )


def _serve(account: WechatAccount, generation: int, loaded_at: float) -> ServedAccount:
    district = account.district
    prp = (
        SecretsPrpCrypto(WeChatCrypto(account.token, account.encoding_aes_key, account.appid).key)
        if account.encoding_aes_key
        else None
    )
    return ServedAccount(
        district_code=account.district_code,
        appid=account.appid,
        token=account.token,
        encoding_aes_key=account.encoding_aes_key,
        district=DistrictNames(
            district.code, district.name, district.platform_name, district.hotline, district.service_hours
        ),
        prp=prp,
        loaded_at=loaded_at,
        generation=generation,
    )


class AccountCache:
    """The enabled accounts of one application, by district code."""

    def __init__(self, max_age_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        """`clock` gives seconds on a monotonic scale (tests pass their own)."""
        self.max_age_seconds = max_age_seconds
        self.clock = clock
        self._entries: dict[str, ServedAccount] = {}
        self._lock = threading.Lock()

    def age(self, account: ServedAccount) -> float:
        """Seconds since `account` was read from the database."""
        return self.clock() - account.loaded_at

    def get(self, session: Session, district_code: str, *, fresh: bool = False) -> ServedAccount | None:
        """The enabled account of `district_code`, or None; `fresh` reads it from the database whatever is cached."""
        if not fresh:
            cached = self._entries.get(district_code)
            if (
                cached is not None
                and cached.generation == _generation
                and self.age(cached) < self.max_age_seconds
            ):
                return cached
        generation = _generation
        account = session.scalar(
            select(WechatAccount)
            .options(joinedload(WechatAccount.district))
            .where(WechatAccount.district_code == district_code, WechatAccount.enabled.is_(True))
            # The session may hold the row already (loaded earlier in the same request): read it afresh anyway.
            .execution_options(populate_existing=True)
        )
        served = _serve(account, generation, self.clock()) if account is not None else None
        with self._lock:
            if served is None:
                self._entries.pop(district_code, None)
            else:
                self._entries[district_code] = served
        return served
