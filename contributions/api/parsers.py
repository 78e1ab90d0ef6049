"""The request parser of the pull-request batch mode.

A batch of 10,000 pull requests (titles, URLs, timestamps) is a few megabytes of JSON: more than
Django's ``DATA_UPLOAD_MAX_MEMORY_SIZE``, which DRF's ``JSONParser`` enforces on every body
(it reads ``request.body``). Raising that setting would loosen it for every form and endpoint;
this parser, used by the batch action alone, reads the body itself up to its own ceiling.
"""

from __future__ import annotations

from typing import Any

from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import BaseParser
from rest_framework.utils import json

MIB = 1024 * 1024


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


class BatchJSONParser(BaseParser):
    """Strict JSON (no NaN or Infinity), at most :attr:`max_bytes` of it."""

    media_type = "application/json"
    max_bytes = 16 * MIB

    def parse(self, stream, media_type: str | None = None, parser_context: dict | None = None) -> Any:
        # Deliberately not a JSONParser subclass: DRF hands those ``request.body``, which applies
        # Django's smaller ceiling; any other parser gets the raw stream.
        raw = stream.read(self.max_bytes + 1)
        if len(raw) > self.max_bytes:
            mib, rest = divmod(self.max_bytes, MIB)
            size = f"{mib} MiB" if mib and not rest else f"{self.max_bytes} bytes"
            raise PayloadTooLarge(f"A batch body holds at most {size} of JSON; split it.")
        encoding = (parser_context or {}).get("encoding") or "utf-8"
        try:
            return json.loads(raw.decode(encoding))
        except (UnicodeDecodeError, ValueError) as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
