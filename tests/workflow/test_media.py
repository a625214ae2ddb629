"""Keeping what citizens send: an image's media id taken in with the petition is downloaded by the media job
through the fake WeChat API (real HTTP, real wire format), stored by content hash, and shown to staff on the
petition page and in the API; failures are retried, and media WeChat no longer has are marked lost."""

from __future__ import annotations

import datetime as dt
import hashlib
import struct
import zlib
from pathlib import Path

import pytest
from sqlalchemy import select

from admin_web.api.tokens import issue_token
from admin_web.auth import login_id
from models import Attachment, utcnow
from models.enums import MediaState, PetitionState
from qingsu.config import merge
from tests.factories import make_petition
from tests.workflow.notify_support import (  # noqa: F401  (fixtures)
    Stage,
    app_config_fixture,
    stage_fixture,
    wechat_fixture,
)
from workflow.media import fetch_media, media_path

MEDIA_GET = "/cgi-bin/media/get"
MINUTE = dt.timedelta(minutes=1)


def _png() -> bytes:
    """A real 1×1 PNG, so a browser or an image viewer would show it."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\x07\xc1\x60")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


PNG = _png()


@pytest.fixture(name="app_config")
def media_app_config(app_config, tmp_path: Path):  # type: ignore[no-untyped-def]
    return merge(
        app_config,
        {"MEDIA": {"folder": str(tmp_path / "media"), "backoff_base_seconds": 60, "max_attempts": 4}},
    )


def _petition_with_image(stage: Stage, media_id: str = "media-scene-1"):  # type: ignore[no-untyped-def]
    petition = make_petition(
        stage.session,
        citizen=stage.world.citizen,
        now=utcnow() - MINUTE,
        attachments=[{"kind": "image", "media_id": media_id, "url": "http://mmbiz.qpic.cn/scene.jpg"}],
    )
    stage.session.commit()
    return petition


def test_an_image_reaches_the_media_folder_the_petition_page_and_the_api(app, client, stage: Stage, tmp_path):
    """Rule: everything about a petition is traced; WeChat keeps a citizen's photo only three days, so it is kept."""
    petition = _petition_with_image(stage)
    (attachment,) = petition.attachments
    assert (attachment.media_state, petition.state) == (MediaState.PENDING, PetitionState.PENDING_DISPATCH)
    stage.fake.add_media(stage.account.appid, "media-scene-1", PNG, "image/png")

    report = fetch_media(app, utcnow())
    assert (report.stored, report.retrying, report.lost) == (1, 0, 0)
    digest = hashlib.sha256(PNG).hexdigest()
    kept = media_path(tmp_path / "media", digest)
    assert kept.read_bytes() == PNG
    stage.session.expire_all()
    attachment = stage.session.get(Attachment, attachment.id)
    assert (attachment.media_state, attachment.sha256, attachment.content_type, attachment.size) == (
        MediaState.STORED,
        digest,
        "image/png",
        len(PNG),
    )
    assert fetch_media(app, utcnow()).stored == 0  # nothing left to do

    with client.session_transaction() as session:
        session["_user_id"] = login_id(stage.world.dispatcher)
    page = client.get(f"/admin/petitions/{petition.number}").get_data(as_text=True)
    src = f"/admin/petitions/{petition.number}/attachments/{attachment.id}"
    assert f'<img src="{src}"' in page
    image = client.get(src)
    assert (image.status_code, image.mimetype, image.data) == (200, "image/png", PNG)
    image.close()
    assert client.get(f"/admin/petitions/{petition.number}/attachments/{attachment.id + 99}").status_code == 404

    token = issue_token(stage.session, stage.world.dispatcher, utcnow()).raw
    stage.session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    detail = client.get(f"/api/v1/petitions/{petition.number}", headers=headers).get_json()
    (listed,) = detail["attachments"]
    assert listed["sha256"] == digest and listed["media_state"]["value"] == "stored"
    download = client.get(listed["download_url"], headers=headers)
    assert (download.status_code, download.data) == (200, PNG)
    download.close()
    other_district = issue_token(stage.session, stage.world.laoshan_dispatcher, utcnow()).raw
    stage.session.commit()
    outside = client.get(listed["download_url"], headers={"Authorization": f"Bearer {other_district}"})
    assert outside.status_code == 404


def test_a_failing_download_is_retried_with_backoff_and_then_kept(app, stage: Stage, tmp_path):
    petition = _petition_with_image(stage, "media-flaky")
    stage.fake.add_media(stage.account.appid, "media-flaky", PNG, "image/png")
    stage.fake.fail_next(MEDIA_GET, 2, http_status=503)
    now = utcnow()
    assert fetch_media(app, now).retrying == 1
    stage.session.expire_all()
    (attachment,) = stage.session.get(type(petition), petition.id).attachments
    assert attachment.media_state == MediaState.PENDING and "503" in (attachment.last_error or "")
    assert attachment.next_fetch_at == now + dt.timedelta(seconds=60)
    assert fetch_media(app, now + dt.timedelta(seconds=30)).retrying == 0  # not due yet: nothing tried
    assert fetch_media(app, now + 2 * MINUTE).retrying == 1  # second failure: waits twice as long
    stage.session.expire_all()
    attachment = stage.session.get(Attachment, attachment.id)
    assert attachment.next_fetch_at == now + 2 * MINUTE + dt.timedelta(seconds=120)
    assert fetch_media(app, now + 5 * MINUTE).stored == 1
    assert media_path(tmp_path / "media", hashlib.sha256(PNG).hexdigest()).read_bytes() == PNG
    assert len(stage.fake.api_calls(MEDIA_GET)) == 3


def test_media_wechat_no_longer_has_is_marked_lost_with_the_reason(app, stage: Stage):
    _petition_with_image(stage, "media-gone")  # never added to the fake: WeChat answers 40007
    report = fetch_media(app, utcnow())
    assert (report.stored, report.lost) == (0, 1)
    stage.session.expire_all()
    (attachment,) = stage.session.scalars(select(Attachment))
    assert attachment.media_state == MediaState.LOST
    assert "40007" in attachment.last_error


def test_a_petition_never_waits_on_the_download(app, stage: Stage):
    """Intake records the media id only: with WeChat down, the petition is taken in at once."""
    stage.fake.fail_next(MEDIA_GET, 10, http_status=500)
    petition = _petition_with_image(stage, "media-later")
    assert petition.number and not stage.fake.api_calls(MEDIA_GET)
