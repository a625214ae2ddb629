"""The ten districts (区/市) and their WeChat official accounts."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base
from models.clock import utcnow
from models.crypto import EncryptedString


class District(Base):
    __tablename__ = "district"

    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(20))
    platform_name: Mapped[str] = mapped_column(String(40))
    abbreviation: Mapped[str] = mapped_column(String(2), unique=True)
    position: Mapped[int] = mapped_column(default=0)
    # What the chat bot tells a citizen who asks for a person (人工): the district's service line and its hours.
    # Empty: Qingdao's 12345 hotline, which answers around the clock. Server defaults only, so that inserts written
    # against an older schema (the migration tests) do not name them.
    hotline: Mapped[str] = mapped_column(String(40), server_default="")
    service_hours: Mapped[str] = mapped_column(String(60), server_default="")

    account: Mapped[WechatAccount | None] = relationship(back_populates="district", uselist=False)

    def __repr__(self) -> str:
        return f"<District {self.code} {self.name}>"


class WechatAccount(Base):
    """One district's official account. Token, AES key and secret are encrypted at rest."""

    __tablename__ = "wechat_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    district_code: Mapped[str] = mapped_column(ForeignKey("district.code"), unique=True)
    appid: Mapped[str] = mapped_column(String(40), unique=True)
    token: Mapped[str] = mapped_column(EncryptedString())
    encoding_aes_key: Mapped[str | None] = mapped_column(EncryptedString())
    secret: Mapped[str] = mapped_column(EncryptedString())
    enabled: Mapped[bool] = mapped_column(default=True)
    menu_pushed_at: Mapped[dt.datetime | None]
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    district: Mapped[District] = relationship(back_populates="account")

    @property
    def safe_mode(self) -> bool:
        """True when messages are AES-encrypted (an EncodingAESKey is set)."""
        return bool(self.encoding_aes_key)


# The ten districts of DESIGN.md, in the order that fixes their petition-number abbreviations.
TEN_DISTRICTS: tuple[tuple[str, str, str, str], ...] = (
    ("shinan", "市南区", "暖南诉办", "SN"),
    ("shibei", "市北区", "北尚诉办", "SB"),
    ("licang", "李沧区", "李即办", "LC"),
    ("laoshan", "崂山区", "崂先办", "LS"),
    ("huangdao", "黄岛区", "诉速办", "HD"),
    ("chengyang", "城阳区", "城心办", "CY"),
    ("jimo", "即墨区", "即诉即办", "JM"),
    ("jiaozhou", "胶州市", "胶心办", "JZ"),
    ("pingdu", "平度市", "平读心声", "PD"),
    ("laixi", "莱西市", "爱莱西", "LX"),
)
CITY_PLATFORM_NAME = "青诉即办"
