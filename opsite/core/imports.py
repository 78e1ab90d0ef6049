"""Reading an uploaded import file into rows, within bounds, or refusing it with a clear message.

The first step of every file import: the bytes of a CSV, XLSX or JSON file become a ``tablib``
dataset of text headers and plain cells, or :class:`ImportRefused` says, in words a person can
act on, why the whole file is refused before any row is read into a model. The bounds (settings):

* ``OPSITE_IMPORT_MAX_BYTES``: the size of the upload (checked by the caller, before reading);
* ``OPSITE_IMPORT_MAX_ROWS``: data rows, counted while reading, so a file past the cap is refused
  before any row is imported (and before the rest of it is parsed);
* ``OPSITE_IMPORT_MAX_XLSX_UNCOMPRESSED`` and ``OPSITE_IMPORT_MAX_XLSX_RATIO``: an XLSX file is a
  zip archive; the sizes its members declare are checked before it is opened, so a zip bomb (a
  147 KB file that unpacks to gigabytes) is refused at once. Python's ``zipfile`` never unpacks a
  member past its declared size, so a member cannot lie its way past the check.

What the readers promise, whatever the format: text is UTF-8 (a byte-order mark is allowed); the
notes above a CSV header (lines starting with ``#``, as the downloadable templates have) are skipped;
headers are non-empty, unique, short texts, at most :data:`MAX_COLUMNS` of them; every row has
no more cells than the header (trailing empty cells are dropped); no cell holds a NUL character;
a JSON file is a list of objects with the same keys, whose values are texts, numbers, booleans,
nulls or lists of those. Row numbers in messages count data rows from 1, as the import's own
messages do.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import json
import logging
import math
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import tablib
from django.conf import settings

logger = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_MAX_ROWS = 20_000
DEFAULT_MAX_XLSX_UNCOMPRESSED = 50 * 1024 * 1024
# A spreadsheet's XML packs 10 to 20 times in practice; a zip bomb packs a thousand times.
DEFAULT_MAX_XLSX_RATIO = 100
# Below this size a member's ratio says nothing (and costs nothing to unpack).
RATIO_FLOOR_BYTES = 1024 * 1024
# An XLSX file holds a dozen members; a central directory of thousands is not a spreadsheet.
MAX_XLSX_MEMBERS = 1_000
# A part's XML declaration and DTD, if any, come first: this much of it is read to find a DTD.
PROLOG_BYTES = 4096
# A CSV line above the header whose first cell starts with this is a note, not a row.
NOTE_MARK = "#"
# No resource has more than a few dozen columns.
MAX_COLUMNS = 100
MAX_HEADER_CHARS = 100


class ImportRefused(ValueError):
    """The file is refused as a whole; ``str(error)`` is the message to show, naming the place."""


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    max_rows: int
    max_xlsx_uncompressed: int
    max_xlsx_ratio: int


def limits() -> Limits:
    """The bounds in force (settings, else the defaults above)."""
    return Limits(
        max_bytes=getattr(settings, "OPSITE_IMPORT_MAX_BYTES", DEFAULT_MAX_BYTES),
        max_rows=getattr(settings, "OPSITE_IMPORT_MAX_ROWS", DEFAULT_MAX_ROWS),
        max_xlsx_uncompressed=getattr(
            settings, "OPSITE_IMPORT_MAX_XLSX_UNCOMPRESSED", DEFAULT_MAX_XLSX_UNCOMPRESSED
        ),
        max_xlsx_ratio=getattr(settings, "OPSITE_IMPORT_MAX_XLSX_RATIO", DEFAULT_MAX_XLSX_RATIO),
    )


def _size(n: int) -> str:
    """``n`` bytes for a person: 10 MB, 147 KB, 312 bytes."""
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):,.1f} MB".replace(".0 MB", " MB")
    if n >= 1024:
        return f"{n // 1024:,} KB"
    return f"{n:,} bytes"


def check_size(size: int, bound: Limits | None = None) -> None:
    """Refuse an upload of ``size`` bytes past ``OPSITE_IMPORT_MAX_BYTES``."""
    bound = bound or limits()
    if size > bound.max_bytes:
        raise ImportRefused(
            f"The file is {_size(size)}; at most {_size(bound.max_bytes)} can be imported at once. "
            "Split it into smaller files."
        )


def read_dataset(data: bytes, fmt: str, bound: Limits | None = None) -> tablib.Dataset:
    """The rows of an uploaded file (``fmt`` is ``csv``, ``xlsx`` or ``json``), within bounds.

    Raises :class:`ImportRefused` naming what is wrong and where (the line, the row and column,
    the key); never lets a parser's own error through.
    """
    bound = bound or limits()
    check_size(len(data), bound)
    readers = {"csv": _read_csv, "xlsx": _read_xlsx, "json": _read_json}
    try:
        reader = readers[fmt]
    except KeyError:
        raise ImportRefused(f"Unknown format {fmt!r}: use csv, xlsx or json.") from None
    dataset = reader(data, bound)
    if not dataset.headers:
        raise ImportRefused("The file is empty: it has no header row and no data.")
    if not dataset.height:
        raise ImportRefused("The file has a header row but no data rows.")
    return dataset


# --- shared checks ------------------------------------------------------------------------------


def _headers(cells: Iterable) -> list[str]:
    """The header row as column names: trailing empty cells dropped; each name checked."""
    names = ["" if cell is None else str(cell).strip() for cell in cells]
    while names and not names[-1]:
        names.pop()
    if len(names) > MAX_COLUMNS:
        raise ImportRefused(f"The header has {len(names):,} columns; at most {MAX_COLUMNS} are read.")
    seen: dict[str, int] = {}
    for position, name in enumerate(names, start=1):
        if not name:
            raise ImportRefused(f"Column {position} of the header has no name.")
        if len(name) > MAX_HEADER_CHARS:
            raise ImportRefused(
                f"Column {position} of the header is {len(name):,} characters long "
                f"(it starts {name[:20]!r}); a column name is at most {MAX_HEADER_CHARS}."
            )
        if "\x00" in name:
            raise ImportRefused(f"Column {position} of the header holds a NUL character.")
        if name in seen:
            raise ImportRefused(
                f"The column {name!r} appears twice in the header (columns {seen[name]} and {position})."
            )
        seen[name] = position
    return names


def _fit(cells: list, headers: list[str], number: int) -> list:
    """``cells`` of data row ``number`` as wide as the header: padded, or trailing blanks dropped."""
    width = len(headers)
    if len(cells) > width:
        extra = [cell for cell in cells[width:] if cell not in (None, "")]
        if extra:
            raise ImportRefused(
                f"Row {number} has a value ({_shown(extra[0])}) past the last column of the header "
                f"({headers[-1]!r}); every value needs a column name."
            )
        cells = cells[:width]
    elif len(cells) < width:
        cells = [*cells, *([""] * (width - len(cells)))]
    for column, cell in zip(headers, cells, strict=True):
        if isinstance(cell, str) and "\x00" in cell:
            raise ImportRefused(f"Row {number}, column {column!r}: the value holds a NUL character.")
    return cells


def _shown(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _too_many_rows(bound: Limits) -> ImportRefused:
    return ImportRefused(
        f"The file has more than {bound.max_rows:,} rows; at most {bound.max_rows:,} can be imported "
        "at once. Split it into smaller files."
    )


def _dataset(headers: list[str], rows: Iterator[list], bound: Limits) -> tablib.Dataset:
    dataset = tablib.Dataset(headers=headers)
    for number, cells in enumerate(rows, start=1):
        if number > bound.max_rows:
            raise _too_many_rows(bound)
        dataset.append(_fit(list(cells), headers, number))
    return dataset


# --- text ---------------------------------------------------------------------------------------


def _decode(data: bytes) -> str:
    """UTF-8 text (a byte-order mark allowed), or a refusal naming the line of the first bad byte."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ImportRefused(
            "The file is UTF-16 text; save it as UTF-8 (in Excel: CSV UTF-8) and import it again."
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise ImportRefused(
            f"The file is not UTF-8 text: line {line} holds the byte 0x{data[error.start]:02x}. "
            "Save it as UTF-8 (in Excel: CSV UTF-8) and import it again."
        ) from None


def _read_csv(data: bytes, bound: Limits) -> tablib.Dataset:
    # As tablib reads a CSV (the library's own reader): comma-separated, quoted with ", empty
    # lines skipped; but row by row, so a file past the row cap is not parsed to its end, and
    # strict, so a stray or unclosed quote is an error on its line, not a cell that swallows
    # the rest of the file.
    reader = csv.reader(io.StringIO(_decode(data), newline=""), strict=True)

    def rows() -> Iterator[list]:
        while True:
            first_line = reader.line_num + 1  # a quoted value may span lines: name where it starts
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                hint = " (a quoted value is never closed)" if "end of data" in str(error) else ""
                raise ImportRefused(f"Line {first_line} cannot be read as CSV: {error}{hint}.") from None
            if row:
                yield row

    lines = rows()
    header = next(lines, None)
    # Notes above the header (a downloaded template's: lines whose first cell starts with "#")
    # are for the person filling the file in, not rows. Below the header every line is a row.
    while header is not None and str(header[0]).lstrip().startswith(NOTE_MARK):
        header = next(lines, None)
    if header is None:
        return tablib.Dataset()
    return _dataset(_headers(header), lines, bound)


def _refuse_constant(name: str):
    raise ImportRefused(f"The JSON file holds {name}, which is not a number; write the value or null.")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ImportRefused(f"The JSON number {text[:20]} is too large.")
    return value


class _Pairs(list):
    """A JSON object as its (key, value) pairs in order: duplicates kept, to be refused."""


_WHITESPACE = re.compile(r"[ \t\n\r]*")


def _json_rows(text: str, bound: Limits) -> Iterator:
    """The items of the top-level JSON list in ``text``, parsed one by one.

    One at a time (``raw_decode``), so a file past the row cap is refused when its first row
    past the cap is reached, without building the rest: a 10 MB list of small objects would
    otherwise cost a second and half a gigabyte before it could be counted.
    """
    decoder = json.JSONDecoder(object_pairs_hook=_Pairs, parse_constant=_refuse_constant, parse_float=_finite)
    at = _WHITESPACE.match(text).end()
    if at == len(text):
        return  # an empty file
    if text[at] != "[":
        # An object or a text is named by its first character, unparsed (it may be 10 MB); a
        # number, true, false or null is read, and a syntax error reported with its place.
        kind = {"{": "an object", '"': "a text"}.get(text[at]) or _json_kind(decoder.decode(text))
        raise ImportRefused(
            f"The JSON file is {kind}; it must be a list of rows, each an object such as "
            '[{"slug": "ada", "name": "Ada"}].'
        )
    at = _WHITESPACE.match(text, at + 1).end()
    if text[at : at + 1] == "]":
        at += 1
    else:
        count = 0
        while True:
            item, at = decoder.raw_decode(text, at)
            count += 1
            if count > bound.max_rows:
                raise _too_many_rows(bound)
            yield item
            at = _WHITESPACE.match(text, at).end()
            if text[at : at + 1] == ",":
                at = _WHITESPACE.match(text, at + 1).end()
            elif text[at : at + 1] == "]":
                at += 1
                break
            else:
                raise json.JSONDecodeError("Expecting ',' delimiter", text, at)
    if _WHITESPACE.match(text, at).end() != len(text):
        raise json.JSONDecodeError("Extra data", text, at)


def _read_json(data: bytes, bound: Limits) -> tablib.Dataset:
    items = _json_rows(_decode(data), bound)
    try:
        first = next(items, None)
        if first is None:
            return tablib.Dataset()
        keys = _row_keys(first, 1)
        if not keys:
            raise ImportRefused(
                'Row 1 is an empty object; each row names its columns, such as {"slug": "ada"}.'
            )
        headers = _headers(keys)
        if len(headers) != len(keys):  # trailing empty keys, which the header check drops
            raise ImportRefused("Row 1 has an empty key; every key names a column.")
        expected = set(headers)

        def rows() -> Iterator[list]:
            for number, item in enumerate(itertools.chain([first], items), start=1):
                if number > 1:
                    _row_keys(item, number)  # an object, no key twice
                row = dict(item)
                if row.keys() != expected:
                    missing = [key for key in headers if key not in row]
                    extra = [key for key in row if key not in expected]
                    what = f"lacks the key {missing[0]!r}" if missing else f"has the key {extra[0]!r}"
                    raise ImportRefused(f"Row {number} {what}, unlike row 1: every row has the same keys.")
                for key in headers:
                    _check_json_value(row[key], number, key)
                yield [_plain(row[key]) for key in headers]

        return _dataset(headers, rows(), bound)
    except RecursionError:
        raise ImportRefused("The JSON file is nested too deeply; it must be a list of rows.") from None
    except json.JSONDecodeError as error:
        raise ImportRefused(
            f"The file is not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}."
        ) from None
    except ImportRefused:
        raise
    except ValueError as error:
        if "digits" in str(error):  # Python's limit on the length of an integer
            raise ImportRefused(
                "The JSON file holds a number too long to read (over 4,300 digits)."
            ) from None
        raise ImportRefused("The JSON file holds a value that cannot be read.") from None


def _row_keys(item, number: int) -> list[str]:
    if not isinstance(item, _Pairs):
        raise ImportRefused(
            f"Row {number} is {_json_kind(item)}, not an object: each row is an object of "
            'column names and values, such as {"slug": "ada"}.'
        )
    keys = [key for key, _ in item]
    if len(keys) > MAX_COLUMNS:
        raise ImportRefused(f"Row {number} has {len(keys):,} keys; at most {MAX_COLUMNS} columns are read.")
    seen: set[str] = set()
    for key in keys:
        if key in seen:
            raise ImportRefused(f"Row {number} has the key {key!r} twice.")
        seen.add(key)
    return keys


def _json_kind(value) -> str:
    if isinstance(value, _Pairs):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a text"
    return "a number"


def _check_json_value(value, number: int, key: str) -> None:
    if isinstance(value, _Pairs):
        what = "an object"
    elif isinstance(value, list) and any(isinstance(item, list) for item in value):
        what = "a list holding lists or objects"
    else:
        return
    raise ImportRefused(
        f"Row {number}, column {key!r}: the value is {what}; a value is a text, a number, "
        "true or false, null, or a list of those."
    )


def _plain(value):
    """A JSON list as a plain list (of scalars, checked); anything else as it is."""
    return list(value) if isinstance(value, list) else value


# --- XLSX ---------------------------------------------------------------------------------------


def check_xlsx_archive(data: bytes, bound: Limits | None = None) -> None:
    """Refuse an XLSX file whose zip members declare too much, before anything is unpacked."""
    bound = bound or limits()
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except Exception:  # BadZipFile mostly; a crafted directory can raise others
        raise ImportRefused(
            "The file is not an XLSX workbook (an XLSX file is a zip archive). "
            "Choose the format that matches the file, or save it from Excel as .xlsx."
        ) from None
    with archive:
        members = archive.infolist()
        if len(members) > MAX_XLSX_MEMBERS:
            raise ImportRefused(
                f"The XLSX file holds {len(members):,} parts; a workbook holds a few dozen at most."
            )
        total = sum(member.file_size for member in members)
        if total > bound.max_xlsx_uncompressed:
            raise ImportRefused(
                f"The XLSX file unpacks to {_size(total)}; at most {_size(bound.max_xlsx_uncompressed)} "
                "are read. Split it, or import it as CSV."
            )
        for member in members:
            if member.filename.endswith((".xml", ".rels")) and _declares_a_dtd(archive, member):
                raise ImportRefused(
                    f"The XLSX part {member.filename[:60]!r} declares a DTD, which a spreadsheet never "
                    "does. The file looks crafted, not saved by a spreadsheet."
                )
            packed = max(member.compress_size, 1)
            if member.file_size > RATIO_FLOOR_BYTES and member.file_size > bound.max_xlsx_ratio * packed:
                raise ImportRefused(
                    f"The XLSX part {member.filename[:60]!r} unpacks {member.file_size // packed:,} times "
                    f"its packed size; a spreadsheet packs at most {bound.max_xlsx_ratio} times. "
                    "The file looks crafted, not saved by a spreadsheet."
                )


def _declares_a_dtd(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> bool:
    """Whether a part's prolog declares a DTD, whose entities could expand a few bytes into
    gigabytes (expat stops that too, but only after a while): read its first bytes only."""
    try:
        with archive.open(member) as part:
            prolog = part.read(PROLOG_BYTES)
    except Exception:  # encrypted, an unknown compression, damaged: openpyxl refuses it next
        return False
    return b"<!DOCTYPE" in prolog or b"<!ENTITY" in prolog


def _read_xlsx(data: bytes, bound: Limits) -> tablib.Dataset:
    check_xlsx_archive(data, bound)
    import openpyxl

    try:
        # Read-only: rows are parsed as they are asked for, never the whole sheet at once.
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises a zoo of errors on a damaged workbook
        logger.info("unreadable XLSX upload: %s", type(error).__name__)
        raise ImportRefused(
            "The XLSX workbook cannot be read (it is damaged, encrypted, or not a workbook)."
        ) from None
    try:
        sheet = book.active
        if sheet is None or not hasattr(sheet, "reset_dimensions"):
            raise ImportRefused("The XLSX workbook has no worksheet to read.")
        # The dimension a file declares is not trusted: a tiny file can claim a million rows
        # of sixteen thousand columns, which openpyxl would pad every row to.
        sheet.reset_dimensions()
        cells = sheet.iter_rows(min_row=1, max_col=MAX_COLUMNS + 1, values_only=True)
        return _xlsx_dataset(cells, bound)
    except ImportRefused:
        raise
    except Exception as error:  # a damaged sheet fails while its rows are parsed
        logger.info("unreadable XLSX sheet: %s", type(error).__name__)
        raise ImportRefused(
            "The first worksheet of the XLSX workbook cannot be read (it is damaged)."
        ) from None
    finally:
        book.close()


def _xlsx_dataset(cells: Iterator[tuple], bound: Limits) -> tablib.Dataset:
    header = next(cells, None)
    if header is None:
        return tablib.Dataset()
    if len(header) > MAX_COLUMNS and header[MAX_COLUMNS] not in (None, ""):
        raise ImportRefused(
            f"The header has more than {MAX_COLUMNS} columns; at most {MAX_COLUMNS} are read."
        )
    headers = _headers(header)

    def rows() -> Iterator[list]:
        # Every row of the sheet counts toward the cap, blank ones too: that bounds the work on a
        # sheet that claims a row a million lines down. Blank rows are then left out, as a
        # spreadsheet's trailing rows usually are.
        for scanned, row in enumerate(cells, start=1):
            if scanned > bound.max_rows:
                raise ImportRefused(
                    f"The worksheet has more than {bound.max_rows:,} rows below the header (blank rows "
                    f"count); at most {bound.max_rows:,} can be imported at once. Delete the rows below "
                    "your data, or split the file."
                )
            if any(value not in (None, "") for value in row):
                yield list(row)

    return _dataset(headers, rows(), bound)
