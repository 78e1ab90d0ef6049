"""The API's JSON parser: strict, bounded, and a 400 (never a 500) for whatever it cannot read.

DRF's ``JSONParser`` trusts the body more than a public endpoint may: an unknown ``charset`` in
the ``Content-Type`` raises ``LookupError`` (a 500), and 50,000 nested ``[`` exhaust the
decoder's recursion (a ``RecursionError``, a 500 again). This parser reads UTF-8 only, at most
``max_bytes`` of it, refuses nesting deeper than ``max_depth`` before decoding, and refuses
``NaN`` and ``Infinity``, which are not JSON.
"""

from __future__ import annotations

import json
import re
from typing import Any

from django.conf import settings
from django.utils.http import parse_header_parameters
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import BaseParser

MIB = 1024 * 1024

# A JSON string (with its escapes) or a bracket: the brackets inside strings are not nesting.
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)
_OPENERS = frozenset("[{")
_ACCEPTED_CHARSETS = frozenset({"utf-8", "utf8"})


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


def json_depth_exceeds(text: str, max_depth: int) -> bool:
    """Whether arrays and objects in ``text`` nest deeper than ``max_depth``."""
    depth = 0
    for match in _TOKENS.finditer(text):
        token = match.group()
        if token in _OPENERS:
            depth += 1
            if depth > max_depth:
                return True
        elif token in "]}":
            depth -= 1
    return False


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _size(max_bytes: int) -> str:
    mib, rest = divmod(max_bytes, MIB)
    return f"{mib} MiB" if mib and not rest else f"{max_bytes:,} bytes"


class StrictJSONParser(BaseParser):
    """UTF-8 JSON of at most :attr:`max_bytes`, nesting at most :attr:`max_depth` levels.

    Not a ``JSONParser`` subclass on purpose: DRF hands those ``request.body``, which applies
    Django's own ceiling with a less helpful error; any other parser reads the raw stream.
    """

    media_type = "application/json"
    what = "A request body"

    @property
    def max_bytes(self) -> int:
        return settings.OPSITE_JSON_MAX_BYTES

    @property
    def max_depth(self) -> int:
        return settings.OPSITE_JSON_MAX_DEPTH

    def parse(self, stream, media_type: str | None = None, parser_context: dict | None = None) -> Any:
        _, params = parse_header_parameters(media_type or self.media_type)
        charset = params.get("charset", "utf-8").strip().lower()
        if charset not in _ACCEPTED_CHARSETS:
            raise ParseError(f"Unsupported charset {charset!r}: send JSON as UTF-8.")
        if stream is None:
            raise ParseError("The request has no body: send a JSON document.")
        raw = stream.read(self.max_bytes + 1)
        if len(raw) > self.max_bytes:
            raise PayloadTooLarge(f"{self.what} holds at most {_size(self.max_bytes)} of JSON; split it.")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ParseError(f"The body is not UTF-8 text (byte {exc.start}).") from None
        if json_depth_exceeds(text, self.max_depth):
            raise ParseError(f"JSON nested more than {self.max_depth} levels deep is refused.")
        try:
            return json.loads(text, parse_constant=_refuse_constant)
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        except RecursionError:  # a belt to the depth check's braces
            raise ParseError(f"JSON nested more than {self.max_depth} levels deep is refused.") from None


class BatchJSONParser(StrictJSONParser):
    """As :class:`StrictJSONParser`, with a larger ceiling for the batch endpoints.

    A batch of 10,000 rows (titles, URLs, timestamps) is a few megabytes: more than a form or a
    single-row write ever needs, so the larger ceiling applies to the batch actions alone.
    """

    what = "A batch body"

    @property
    def max_bytes(self) -> int:
        return settings.OPSITE_BATCH_JSON_MAX_BYTES
