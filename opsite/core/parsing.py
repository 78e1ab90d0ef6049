"""One strict reading of numbers and text, shared by every door (import files and the API).

Python's own parsers are generous in ways a record of money and counts cannot afford:
``int("٣")`` is 3 and ``Decimal("1e3")`` is 1000, ``int(Decimal("1.9"))`` is 1 (django-import-
export's integer widget reads a PR number that way), a spreadsheet's "1,5" loses its comma and
becomes 15, and ``Decimal("1e999999999")`` followed by ``int()`` builds a billion-digit number.
The functions here accept exactly one spelling of a number, and refuse everything else with a
``ValueError`` that names the value and says what is accepted:

* a whole number is ASCII digits ``0-9`` with an optional leading ``-``;
* a decimal is the same with at most one ``.``: no thousands separators, no exponent, no
  ``NaN`` or ``Infinity``;
* either is at most :data:`MAX_NUMBER_LENGTH` characters, checked before any conversion;
* surrounding ASCII whitespace (a spreadsheet's padding) is trimmed; any other is refused.

Spreadsheet cells (XLSX) and JSON numbers arrive as ``int`` or ``float``: an ``int`` is taken as
is, a ``float`` only where the caller allows it (``floats=True``): a whole one for an integer
column, any finite one for a decimal column, read through its shortest ``repr`` so that 0.1 is
``Decimal("0.1")`` and never binary noise.

PostgreSQL refuses a NUL character (``\\x00``) in text outright, with a database error, while
SQLite stores it: :func:`contains_nul` lets every door refuse it first, on every database.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

# Far more than any column holds (a bigint has 19 digits; money 14 with its places), yet short
# enough that no conversion of an accepted text can cost anything.
MAX_NUMBER_LENGTH = 40

# Magnitudes past this are out of every column's range; refusing them early keeps an absurd
# spreadsheet float (1e300) from turning into a 300-digit number.
_MAX_MAGNITUDE = 10**20

_ASCII_SPACE = " \t\r\n"
_INTEGER = re.compile(r"-?[0-9]+")
_DECIMAL = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_EXPONENT = re.compile(r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)[eE][-+]?[0-9]+")
_SEPARATORS = frozenset(",'’_ ")

NUL_MESSAGE = "contains a NUL character (\\x00), which cannot be stored."

# A whole number has no decimal point: a float or ``2.0`` is refused, whichever door.
WHOLE = "is not a whole number."
DECIMAL = "is not a number."
SEPARATORS_HINT = "use a point for decimals and no thousands separators"
EXPONENT_HINT = "write it out in digits, without an exponent"
DIGITS_HINT = "write it with the digits 0-9"


def shown(value: Any) -> str:
    """``repr(value)``, shortened when long: an error message never echoes 100,000 digits."""
    text = repr(value)
    if len(text) <= 60:
        return text
    length = len(value) if isinstance(value, str) else len(text)
    return f"{text[:40]}…' ({length:,} characters)"


def _hint(text: str, *, decimal: bool) -> str:
    """What to write instead, for the spellings other parsers read as numbers."""
    if any(c.isdigit() and not ("0" <= c <= "9") for c in text):
        return DIGITS_HINT  # "٣", "²": digits to Python, not to a ledger
    if not decimal:
        return ""  # "is not a whole number" says it all: no point, no exponent, no separator
    if _EXPONENT.fullmatch(text):
        return EXPONENT_HINT
    if any(c.isdigit() for c in text) and _SEPARATORS.intersection(text):
        return SEPARATORS_HINT
    return ""


def _refusal(value: Any, what: str, *, decimal: bool) -> ValueError:
    """The refusal of ``value``, naming it, with the hint that fits how it was spelled."""
    hint = _hint(value.strip(_ASCII_SPACE), decimal=decimal) if isinstance(value, str) else ""
    message = f"{shown(value)} {what}"
    return ValueError(f"{message[:-1]}: {hint}." if hint else message)


def _bounded_text(value: str) -> str:
    text = value.strip(_ASCII_SPACE)
    if len(text) > MAX_NUMBER_LENGTH:
        raise ValueError(f"{shown(value)} is too long for a number: at most {MAX_NUMBER_LENGTH} characters.")
    return text


def parse_integer(value: Any, *, floats: bool = False) -> int:
    """``value`` as a whole number, read strictly (see the module's docstring).

    ``floats`` accepts a whole ``float`` (a spreadsheet's ``7.0``); an API client's JSON ``2.0``
    is refused (``floats=False``): a count or a pull request number is written without a point.
    """
    if isinstance(value, bool):  # an int subclass: True is not a count
        raise _refusal(value, WHOLE, decimal=False)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if floats and math.isfinite(value) and value.is_integer() and abs(value) < _MAX_MAGNITUDE:
            return int(value)
        raise _refusal(value, WHOLE, decimal=False)
    if not isinstance(value, str):
        raise _refusal(value, WHOLE, decimal=False)
    text = _bounded_text(value)
    if not _INTEGER.fullmatch(text):
        raise _refusal(value, WHOLE, decimal=False)
    return int(text)


def parse_decimal(value: Any, *, floats: bool = True) -> Decimal:
    """``value`` as an exact decimal, read strictly (see the module's docstring).

    It never rounds: places beyond what the column holds are the column's validator's to refuse.
    """
    if isinstance(value, bool):
        raise _refusal(value, DECIMAL, decimal=True)
    if isinstance(value, int):
        if abs(value) >= _MAX_MAGNITUDE:
            raise ValueError(f"{shown(value)} is too large for a number here.")
        return Decimal(value)
    if isinstance(value, float):
        if not floats or not math.isfinite(value):
            raise _refusal(value, DECIMAL, decimal=True)
        if abs(value) >= _MAX_MAGNITUDE:
            raise ValueError(f"{shown(value)} is too large for a number here.")
        # The shortest repr: 0.1 is Decimal("0.1"), not 0.1000000000000000055511151231257827.
        return Decimal(repr(value))
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise _refusal(value, DECIMAL, decimal=True)
        return value
    if not isinstance(value, str):
        raise _refusal(value, DECIMAL, decimal=True)
    text = _bounded_text(value)
    if not _DECIMAL.fullmatch(text):
        raise _refusal(value, DECIMAL, decimal=True)
    try:
        return Decimal(text)
    except InvalidOperation:  # unreachable past the pattern; a belt to its braces
        raise _refusal(value, DECIMAL, decimal=True) from None


def contains_nul(value: Any) -> bool:
    """Whether ``value``, or any text inside it (a list's items, a mapping's keys and values),
    holds a NUL character."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, Mapping):
        return any(contains_nul(k) or contains_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(contains_nul(item) for item in value)
    return False
