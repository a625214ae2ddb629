"""Limits on what a request can carry, for the whole application (installed by the factory before any blueprint):
ids in paths and the depth of JSON bodies.

- ``<int:...>`` in any route matches only a possible row id (1 to `models.bounds.MAX_ID`): a longer number is an
  unknown path (404), never a value the database driver cannot take (it raised OverflowError: a 500).
- A JSON body may nest at most `MAX_JSON_DEPTH` arrays and objects. Python's parser recursed once per level, so a
  body of 100,000 ``[`` raised RecursionError (a 500); and nothing the API takes nests deeper than three levels.
  Too deep or unreadable, it is a 400 that says so (JSON under /api, a page elsewhere).

The body's size is limited separately (``MAX_CONTENT_LENGTH``, ``[security] max_request_bytes``).
"""

from __future__ import annotations

import json
from typing import Any

from flask import Flask, Request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter, Map

from models.bounds import MAX_ID

MAX_JSON_DEPTH = 32


class IdConverter(IntegerConverter):
    """Werkzeug's ``int`` converter, bounded to the ids a row can have."""

    def __init__(self, map: Map, fixed_digits: int = 0, min: int | None = 1, max: int | None = MAX_ID,
                 signed: bool = False) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


class JSONTooDeep(ValueError):
    """A JSON document nested deeper than `MAX_JSON_DEPTH`."""


def json_depth_exceeds(text: str | bytes, limit: int) -> bool:
    """Whether `text` nests arrays and objects deeper than `limit`, counted without parsing (brackets inside strings
    are skipped). Linear, no recursion."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    depth = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return True
        elif char in "]}":
            depth -= 1
    return False


class BoundedJSONProvider(DefaultJSONProvider):
    """Flask's JSON provider, refusing documents nested deeper than `MAX_JSON_DEPTH` before parsing them."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        if json_depth_exceeds(s, MAX_JSON_DEPTH):
            raise JSONTooDeep(f"JSON 嵌套层级过深：最多 {MAX_JSON_DEPTH} 层")
        return json.loads(s, **kwargs)


class UnreadableJSON(BadRequest):
    """A request whose JSON body cannot be read; the description says why, in Chinese."""


class BoundedRequest(Request):
    def on_json_loading_failed(self, e: ValueError | None) -> Any:
        if isinstance(e, JSONTooDeep):
            raise UnreadableJSON(str(e))
        if e is None:
            return super().on_json_loading_failed(e)  # not JSON at all: 415
        raise UnreadableJSON("请求体不是有效的 JSON")


def init_app(app: Flask) -> None:
    """Install the bounded ``int`` converter, JSON provider and request class. Call before any blueprint is
    registered: a route's converters are chosen when it is added."""
    app.url_map.converters["int"] = IdConverter
    app.json_provider_class = BoundedJSONProvider
    app.json = BoundedJSONProvider(app)
    app.request_class = BoundedRequest
