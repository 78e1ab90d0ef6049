"""The widgets every import and export shares: how one cell is read, and what it must hold.

Each widget refuses what it does not understand with a ``ValueError`` that names the value and
what to write instead (the format, or the values allowed), which the import reports on that row's
column; none of them guesses. Each also says, in :meth:`accepts`, what a cell of its column holds,
for the preview's list of problems and for the downloadable template.

Relations are written as natural keys (one, or many in one cell). A file's keys are read with one
query per batch of rows (:meth:`NaturalKeyWidget.prime`), not one per row; a widget used alone
still reads its key when asked.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable

from django.db.models.functions import Lower
from django.utils.encoding import force_str
from import_export import widgets

from .parsing import parse_decimal, parse_integer, shown

# A spreadsheet treats a cell starting with one of these as a formula (CSV injection).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

# Keys read per query when a batch's relations are looked up.
PRIME_CHUNK = 500

# ``YYYY-MM-DD`` in ASCII digits: ``date.fromisoformat`` also reads ``20240301`` and week dates.
ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
DAY_FORMAT = "YYYY-MM-DD"

# A choice list longer than this is named by a few of its values in a message (the template and
# the preview's "what to write" list them all).
SHORT_CHOICES = 12


def _is_quoted_formula(value: str) -> bool:
    """Whether ``value`` is one or more ``'`` followed by a formula trigger."""
    unquoted = value.lstrip("'")
    return len(unquoted) < len(value) and unquoted.startswith(FORMULA_TRIGGERS)


def neutralize_formula(value: str) -> str:
    """Prefix a text cell that a spreadsheet would evaluate with ``'``.

    A text that already reads ``'=...`` gets one more quote too: the import strips exactly one,
    so every text comes back as it was written (and a spreadsheet shows it as written).
    """
    if value and (value.startswith(FORMULA_TRIGGERS) or _is_quoted_formula(value)):
        return "'" + value
    return value


def restore_formula(value: str) -> str:
    """Undo :func:`neutralize_formula`, so an exported file re-imports to the same text."""
    if _is_quoted_formula(value):
        return value[1:]
    return value


def accepts(widget: widgets.Widget) -> str:
    """What a cell read by ``widget`` holds, in words (``"text"`` for a plain column)."""
    describe = getattr(widget, "accepts", None)
    return describe() if callable(describe) else "text"


def describe_text(model_field) -> str:
    """What a text column of ``model_field`` takes, in words: its kind, its pattern, its length."""
    from django.core.validators import RegexValidator
    from django.db import models

    if isinstance(model_field, models.URLField):
        return "a web address, such as https://example.org/"
    if isinstance(model_field, models.EmailField):
        return "an e-mail address"
    if isinstance(model_field, models.SlugField):
        return "a slug: lowercase letters, digits and hyphens, such as my-hub"
    if isinstance(model_field, models.JSONField):
        return 'JSON, such as {"key": "value"}'
    for validator in getattr(model_field, "validators", []):
        if isinstance(validator, RegexValidator) and str(validator.message).startswith("Enter "):
            return str(validator.message).removeprefix("Enter ").rstrip(".")
    length = getattr(model_field, "max_length", None)
    return f"text, up to {length} characters" if length else "text"


class StrictDecimalWidget(widgets.DecimalWidget):
    """A decimal read strictly (:func:`opsite.core.parsing.parse_decimal`), naming a bad value.

    No thousands separators ("1,5" is refused, never read as 15), no exponent, no NaN; an XLSX
    cell's float is read through its shortest repr. It never rounds: a value with more places
    than the model field allows is refused by the model's own validation (``full_clean``), which
    the base resource always runs.
    """

    def clean(self, value, row=None, **kwargs):
        if self.is_empty(value):
            return None
        return parse_decimal(value, floats=True)

    def render(self, value, obj=None, **kwargs):
        if value is None:
            return ""
        return format(value, "f") if self.coerce_to_string else value

    def accepts(self) -> str:
        return "a number with a point for decimals and no thousands separators, such as 1234.50"


class StrictIntegerWidget(widgets.IntegerWidget):
    """A whole number read strictly (:func:`opsite.core.parsing.parse_integer`), naming a bad value.

    ASCII digits only: "1.9" is refused where the library's widget stores 1, "٣" where it
    stores 3. An XLSX cell's whole float (``7.0``) is that number.
    """

    def clean(self, value, row=None, **kwargs):
        if self.is_empty(value):
            return None
        return parse_integer(value, floats=True)

    def accepts(self) -> str:
        return "a whole number, such as 120"


class StrictDateWidget(widgets.DateWidget):
    """A day written ``YYYY-MM-DD`` (or a spreadsheet's date cell), naming a bad value.

    ``31/12/2024`` and ``12/31/2024`` are refused rather than read one way or the other; a date
    and time is refused rather than cut to a day (which day depends on a time zone).
    """

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)

    def clean(self, value, row=None, **kwargs):
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if isinstance(value, dt.datetime):
            if value.time() != dt.time(0) or value.tzinfo is not None:
                raise ValueError(
                    f"{shown(value.isoformat())} is a date and time; write the day as {DAY_FORMAT}."
                )
            return value.date()
        if isinstance(value, dt.date):
            return value
        text = force_str(value).strip()
        if ISO_DAY.fullmatch(text):
            try:
                return dt.date.fromisoformat(text)
            except ValueError:
                raise ValueError(
                    f"{shown(value)} is not a day of the calendar; write it as {DAY_FORMAT}."
                ) from None
        raise ValueError(f"{shown(value)} is not a date; write it as {DAY_FORMAT}, such as 2024-03-31.")

    def accepts(self) -> str:
        return f"a date written {DAY_FORMAT}, such as 2024-03-31"


class StrictDateTimeWidget(widgets.DateTimeWidget):
    """An instant in ISO 8601 (``2024-03-01T09:00:00Z``, any offset; without one, UTC)."""

    def clean(self, value, row=None, **kwargs):
        from django.utils.dateparse import parse_datetime

        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        parsed = value if isinstance(value, dt.datetime) else None
        if parsed is None:
            try:
                parsed = parse_datetime(force_str(value).strip())
            except ValueError:
                parsed = None
        if parsed is None:
            raise ValueError(
                f"{shown(value)} is not a date and time; write it as YYYY-MM-DDTHH:MM:SSZ, "
                "such as 2024-03-01T09:00:00Z."
            )
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=dt.UTC)
        try:
            return parsed.astimezone(dt.UTC)
        except OverflowError:  # 9999-12-31T23:59:59-14:00 is in the year 10000 in UTC
            raise ValueError(f"{shown(value)} is not a date and time that can be stored.") from None

    def accepts(self) -> str:
        return "a date and time in ISO 8601, such as 2024-03-01T09:00:00Z (UTC when no offset is given)"


class StrictChoiceWidget(widgets.Widget):
    """One of a field's choices: its value (``30d``), or its label (``30 days``), in any letter case.

    A value that is neither is refused, naming the values allowed (a long list by a few of them:
    the template lists every one).
    """

    def __init__(self, choices: Iterable[tuple[object, object]], *, null: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.choices = [
            (force_str(value), force_str(label)) for value, label in choices if value not in ("", None)
        ]
        self.null = null
        folded: dict[str, set[str]] = {}
        for value, label in self.choices:
            folded.setdefault(value.casefold(), set()).add(value)
            folded.setdefault(label.casefold(), set()).add(value)
        self._values = {value for value, _ in self.choices}
        self._folded = {text: next(iter(values)) for text, values in folded.items() if len(values) == 1}

    def clean(self, value, row=None, **kwargs):
        text = force_str("" if value is None else value).strip()
        if not text:
            return None if self.null else ""
        if text in self._values:
            return text
        found = self._folded.get(text.casefold())
        if found is not None:
            return found
        raise ValueError(f"{shown(text)} is not allowed here; {self.listed()}.")

    def render(self, value, obj=None, **kwargs):
        return "" if value is None else force_str(value)

    def listed(self, *, every: bool = False) -> str:
        """The allowed values in words: every one, or (for a long list) a few and how many."""
        if every or len(self.choices) <= SHORT_CHOICES:
            shown_choices = ", ".join(
                value if value == label else f"{value} ({label})" for value, label in self.choices
            )
            return f"use one of {shown_choices}"
        some = ", ".join(value for value, _ in self.choices[:5])
        return (
            f"use one of the {len(self.choices)} codes, such as {some} (the import template lists them all)"
        )

    def accepts(self) -> str:
        return self.listed(every=True).removeprefix("use ")


class StrictBooleanWidget(widgets.BooleanWidget):
    """Yes/no that refuses what it does not understand, instead of reading it as "no".

    ``null`` says what an empty cell means: with ``null=True`` (a nullable field) it is "not
    known" (``None``), and ``null``/``none`` are read the same way; with ``null=False`` it is
    "no", and those words are refused like any other.
    """

    TRUE_TEXT = frozenset({"1", "true", "yes", "y"})
    FALSE_TEXT = frozenset({"0", "false", "no", "n"})
    NULL_TEXT = frozenset({"", "null", "none"})

    def __init__(self, *, null: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.null = null

    def clean(self, value, row=None, **kwargs):
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):  # XLSX and JSON numbers
            return bool(value)
        text = force_str(value if value is not None else "").strip().lower()
        if text in self.TRUE_TEXT:
            return True
        if text in self.FALSE_TEXT:
            return False
        if text == "" and not self.null:
            return False
        if text in self.NULL_TEXT and self.null:
            return None
        hint = " (or leave it empty)" if self.null else ""
        raise ValueError(f"{value!r} is not yes or no; use 1 or 0{hint}.")

    def accepts(self) -> str:
        return "1 (yes) or 0 (no), or empty" if self.null else "1 (yes) or 0 (no); empty is no"


class NaturalKeyWidget(widgets.ForeignKeyWidget):
    """A relation written as its natural key; an unknown key is an error on the field, naming it.

    The library's widget lets ``DoesNotExist`` escape, which is reported as a row error with no
    field; a ``ValueError`` is reported on this column. ``case_insensitive`` matches the key
    whatever its case (repository names are). ``unknown_message`` is a ``str.format`` template
    with ``name`` (the model's verbose name), ``field`` and ``key``.

    An import first calls :meth:`prime` with the keys of a batch of rows: they are read in one
    query, and :meth:`clean` then answers from what was read, for the rest of the import.
    """

    unknown_message = "no {name} with {field} {key!r}."

    def __init__(
        self,
        model,
        field: str,
        *,
        case_insensitive: bool = False,
        unknown_message: str | None = None,
        **kwargs,
    ):
        super().__init__(model, field=field, **kwargs)
        self.case_insensitive = case_insensitive
        if unknown_message is not None:
            self.unknown_message = unknown_message
        self._found: dict[str, object] | None = None

    def _folded(self, key: str) -> str:
        return key.lower() if self.case_insensitive else key

    def prime(self, keys: Iterable[object]) -> None:
        """Read the rows of ``keys`` not read yet, a few hundred per query."""
        if self._found is None:
            self._found = {}
        wanted = sorted(
            {self._folded(key) for key in (force_str(k).strip() for k in keys if k is not None) if key}
            - self._found.keys()
        )
        rows = self.get_queryset(None, None)
        for start in range(0, len(wanted), PRIME_CHUNK):
            chunk = wanted[start : start + PRIME_CHUNK]
            if self.case_insensitive:
                found = rows.annotate(_natural_key=Lower(self.field)).filter(_natural_key__in=chunk)
            else:
                found = rows.filter(**{f"{self.field}__in": chunk})
            for row in found:
                self._found[self._folded(force_str(getattr(row, self.field)))] = row
            for key in chunk:
                self._found.setdefault(key, None)

    def clean(self, value, row=None, **kwargs):
        key = force_str(value).strip() if value is not None else ""
        if not key:
            return None
        if self._found is not None and self._folded(key) in self._found:
            found = self._found[self._folded(key)]
        else:
            lookup = f"{self.field}__iexact" if self.case_insensitive else self.field
            found = self.get_queryset(value, row, **kwargs).filter(**{lookup: key}).first()
        if found is None:
            name = self.model._meta.verbose_name
            raise ValueError(self.unknown_message.format(name=name, field=self.field, key=key))
        return found

    def accepts(self) -> str:
        return f"the {self.field} of a {self.model._meta.verbose_name}"


def split_cell(value, separator: str) -> list[str]:
    """The non-empty items of a list cell: text split on ``separator``, or a JSON list as is."""
    items = value if isinstance(value, list) else force_str("" if value is None else value).split(separator)
    return [text for text in (force_str(item).strip() for item in items) if text]


class NaturalKeysWidget(widgets.ManyToManyWidget):
    """Many relations as natural keys in one cell, separated by ``separator`` (a comma).

    Unknown keys are refused by name, where the library's widget would silently drop them. The
    library links many-to-many rows only after saving, so :class:`NaturalKeyResource` checks
    these cells beforehand, to report a bad key on its column like every other bad cell.
    """

    def __init__(self, model, separator=None, field=None, **kwargs):
        super().__init__(model, separator=separator, field=field, **kwargs)
        self._found: dict[str, object] | None = None

    def prime(self, cells: Iterable[object]) -> None:
        """Read the rows of every key in ``cells`` not read yet, a few hundred per query."""
        if self._found is None:
            self._found = {}
        wanted = sorted(
            {key for cell in cells for key in split_cell(cell, self.separator)} - self._found.keys()
        )
        for start in range(0, len(wanted), PRIME_CHUNK):
            chunk = wanted[start : start + PRIME_CHUNK]
            for row in self.model.objects.filter(**{f"{self.field}__in": chunk}):
                self._found[force_str(getattr(row, self.field))] = row
            for key in chunk:
                self._found.setdefault(key, None)

    def clean(self, value, row=None, **kwargs):
        keys = list(dict.fromkeys(split_cell(value, self.separator)))
        if not keys:
            return []
        if self._found is not None and all(key in self._found for key in keys):
            found = {key: row for key in keys if (row := self._found[key]) is not None}
        else:
            found = {
                force_str(getattr(o, self.field)): o
                for o in self.model.objects.filter(**{f"{self.field}__in": keys})
            }
        missing = [k for k in keys if k not in found]
        if missing:
            names = ", ".join(repr(k) for k in missing)
            raise ValueError(f"no {self.model._meta.verbose_name} with {self.field} {names}.")
        return [found[k] for k in keys]

    def render(self, value, obj=None, **kwargs):
        # Sorted, so an export is stable whatever order the rows were linked in; .all() keeps a
        # prefetch in use.
        if value is None:
            return ""
        return self.separator.join(sorted(force_str(getattr(o, self.field)) for o in value.all()))

    def accepts(self) -> str:
        plural = self.model._meta.verbose_name_plural
        return f"the {self.field}s of {plural}, separated by commas (empty for none)"


class CommaListWidget(widgets.Widget):
    """A list of short texts (a ``JSONField`` list) in one cell, separated by commas.

    A JSON list is read as well, so a JSON export re-imports whichever way it was written.
    """

    def clean(self, value, row=None, **kwargs):
        return split_cell(value, ",")

    def render(self, value, obj=None, **kwargs):
        return ", ".join(force_str(item) for item in value or [])

    def accepts(self) -> str:
        return "texts separated by commas (empty for none)"
