"""Reading what an importer's service answered: its JSON, strictly, and a saved answer's file.

The usage importer (:mod:`communities.prometheus`) and the cloud cost importer
(:mod:`communities.cost_monitoring`) read their answers the same way and say the same things when
an answer is not what it should be; each passes its own exception types and words.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def decode_json(
    text: str,
    *,
    what: str,
    kind: str,
    error: type[Exception],
    parse_float: Callable[[str], Any] | None = None,
) -> Any:
    """Decode ``text``, or raise ``error`` saying clearly what it was instead of JSON (``kind``:
    what it should have been, "a Prometheus answer").

    ``NaN`` and ``Infinity`` (which Python's decoder takes by default) are refused, and so is
    nesting deep enough to exhaust the decoder's recursion.
    """
    try:
        return json.loads(text, parse_float=parse_float, parse_constant=_no_constant)
    except RecursionError:
        raise error(f"{what} is nested too deeply to be {kind}.") from None
    except ValueError as exc:
        start = text.lstrip()[:60]
        if start.startswith("<"):
            raise error(f"{what} is an HTML page, not JSON: {start!r}") from None
        if not start:
            raise error(f"{what} is empty, not JSON.") from None
        raise error(f"{what} is not valid JSON ({str(exc)[:200]}); it begins {start!r}") from None


def read_saved(path: Path, *, expected: str, malformed: type[Exception], unreadable: type[Exception]) -> str:
    """A saved answer's text: ``malformed`` when it is not UTF-8 (``expected`` says what it should
    be), ``unreadable`` when it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise malformed(
            f"{path.name} is not UTF-8 text (byte 0x{exc.object[exc.start : exc.start + 1].hex()} at "
            f"offset {exc.start}): {expected}."
        ) from None
    except OSError as exc:
        raise unreadable(f"Cannot read {path.name}: {exc.__class__.__name__}.") from None
