"""Serving the images and voice messages citizens sent, as kept by the media job (`workflow.media`), to staff who
may see their petition: the admin site's petition page and the API use the same function."""

from __future__ import annotations

from flask import abort, current_app, send_file
from flask.typing import ResponseReturnValue

from models import Attachment, Petition
from models.db import get_session
from workflow.media import MediaSettings, stored_file

# Kept media are served as what they are only when they are pictures or sound; anything else is a download.
INLINE_MEDIA = ("image/", "audio/")


def attachment_response(petition: Petition, attachment_id: int) -> ResponseReturnValue:
    """The kept copy of one attachment of `petition` (the caller has checked the petition's scope); 404 when the
    attachment is not the petition's or not stored (yet, or any more)."""
    attachment = get_session().get(Attachment, attachment_id)
    if attachment is None or attachment.petition_id != petition.id:
        abort(404)
    path = stored_file(MediaSettings.from_app(current_app).folder, attachment)
    if path is None:
        abort(404)
    content_type = attachment.content_type or "application/octet-stream"
    # SVG is a document that can carry scripts: never shown inline.
    inline = content_type.startswith(INLINE_MEDIA) and "svg" not in content_type
    return send_file(
        path,
        mimetype=content_type if inline else "application/octet-stream",
        as_attachment=not inline,
        download_name=f"{petition.number}-{attachment.id}",
        etag=attachment.sha256,
        max_age=0,
    )
