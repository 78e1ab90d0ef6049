"""A corpus of malformed import files (CSV, XLSX, JSON), built once per test process.

Each :class:`Probe` is the bytes of one file, the format it is posted as, and what the import must
answer: refused (with a message whose place matches ``place``, when the place is known), or
either refused or previewed (a formula is a legitimate text, for instance). The kinds are those
of issue 10: bad encodings, zip bombs, huge headers, JSON of the wrong shape, rows past the cap,
formula cells, NUL characters, damaged archives. Bad numbers and dates depend on the columns of
a resource: :data:`BAD_NUMBERS` and :data:`BAD_DATES` are put into each resource's own row.

The caps are small here (the tests set ``OPSITE_IMPORT_MAX_ROWS`` and ``OPSITE_IMPORT_MAX_BYTES``
to :data:`TEST_MAX_ROWS` and :data:`TEST_MAX_BYTES`), so the files are small and fast to build;
the zip bombs are real, and declare hundreds of megabytes.
"""

from __future__ import annotations

import functools
import io
import json
import struct
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass

TEST_MAX_ROWS = 50
TEST_MAX_BYTES = 256 * 1024

CSV, XLSX, JSON = "0", "1", "2"  # the admin's import formats, in OpsiteAdmin.formats order


@dataclass(frozen=True)
class Probe:
    name: str
    fmt: str
    data: bytes
    refused: bool = True
    place: str | None = None  # a regular expression the refusal's message must match

    def __repr__(self) -> str:
        return f"Probe({self.name})"


# Numbers and dates in bad shapes (issue 10, items 1, 4 to 6). Whether a resource refuses each
# depends on its widgets; the strict number widgets refuse them all.
BAD_NUMBERS = (
    "1,5",
    "1,000",
    "\u0663",  # ARABIC-INDIC DIGIT THREE
    "\u00b2",  # SUPERSCRIPT TWO
    "1e999999999",
    "1e20",
    "NaN",
    "Infinity",
    "0x10",
    "1_000",
    "12abc",
    "9" * 40,
)
# Bad only where a whole number is expected (a pull request's number, a count).
BAD_INTEGERS = ("1.9", "2.0000001", "1e3")
BAD_DATES = (
    "9999-12-31",
    "0001-01-31",
    "0300-01-31",
    "2024-02-30",
    "2024-13-01",
    "31/12/2024",
    "yesterday",
    "2024-02-30T00:00:00Z",
)


# --- XLSX building blocks -------------------------------------------------------------------------

_CONTENT_TYPES = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    b'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    b'<Default Extension="xml" ContentType="application/xml"/>'
    b'<Override PartName="/xl/workbook.xml" '
    b'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    b'<Override PartName="/xl/worksheets/sheet1.xml" '
    b'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    b"</Types>"
)
_RELS = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    b'<Relationship Id="rId1" '
    b'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    b'Target="xl/workbook.xml"/></Relationships>'
)
_WORKBOOK = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    b'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    b'<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    b'<Relationship Id="rId1" '
    b'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
    b'Target="worksheets/sheet1.xml"/></Relationships>'
)
_SHEET_OPEN = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
)


def _cell(ref: str, value) -> bytes:
    if isinstance(value, int | float):
        return f'<c r="{ref}"><v>{value}</v></c>'.encode()
    text = str(value).replace("&", "&amp;").replace("<", "&lt;")
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'.encode()


def _column(n: int) -> str:
    letters = ""
    while n:
        n, rest = divmod(n - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def sheet_xml(rows: Iterable[list], *, dimension: str | None = None, prolog: bytes = b"") -> bytes:
    """A worksheet's XML: ``rows`` from row 1 (``None`` cells left out)."""
    parts = [prolog or _SHEET_OPEN]
    if dimension:
        parts.append(f'<dimension ref="{dimension}"/>'.encode())
    parts.append(b"<sheetData>")
    for r, row in enumerate(rows, start=1):
        cells = b"".join(_cell(f"{_column(c)}{r}", v) for c, v in enumerate(row, start=1) if v is not None)
        parts.append(f'<row r="{r}">'.encode() + cells + b"</row>")
    parts.append(b"</sheetData></worksheet>")
    return b"".join(parts)


def workbook(sheet: bytes | Iterable[bytes], *, extra: dict[str, bytes] | None = None) -> bytes:
    """An XLSX file around ``sheet`` (bytes, or chunks written one by one: a bomb never sits in memory)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _RELS)
        archive.writestr("xl/workbook.xml", _WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        if isinstance(sheet, bytes):
            archive.writestr("xl/worksheets/sheet1.xml", sheet)
        else:
            with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member:
                for chunk in sheet:
                    member.write(chunk)
        for name, content in (extra or {}).items():
            archive.writestr(name, content)
    return out.getvalue()


def _padding(total: int, chunk: int = 1 << 20) -> Iterable[bytes]:
    """A worksheet of one header cell, then ``total`` bytes of whitespace (it packs 1000 to 1)."""
    yield _SHEET_OPEN + b'<sheetData><row r="1">' + _cell("A1", "slug") + b"</row>"
    block = b" " * chunk
    for _ in range(total // chunk):
        yield block
    yield b"</sheetData></worksheet>"


@functools.cache
def zip_bomb() -> bytes:
    """About 150 KB that declares about 150 MB: the issue's 147 KB XLSX bomb."""
    return workbook(_padding(150 * 1024 * 1024))


def ratio_bomb() -> bytes:
    """40 MB packed into about 40 KB: under the 50 MB total, a thousand times over the ratio."""
    return workbook(_padding(40 * 1024 * 1024))


def lying_sizes() -> bytes:
    """A workbook whose sheet declares 64 bytes but unpacks to much more (sizes patched)."""
    data = bytearray(workbook(sheet_xml([["slug", "name"], *[[f"p-{i}", "x" * 200] for i in range(2000)]])))
    name = b"xl/worksheets/sheet1.xml"
    central = data.find(b"PK\x01\x02")  # each entry of the central directory
    while central != -1:
        name_length = struct.unpack_from("<H", data, central + 28)[0]
        if data[central + 46 : central + 46 + name_length] == name:
            struct.pack_into("<I", data, central + 24, 64)  # uncompressed size
            local = struct.unpack_from("<I", data, central + 42)[0]
            struct.pack_into("<I", data, local + 22, 64)
        central = data.find(b"PK\x01\x02", central + 4)
    return bytes(data)


def dimension_bomb() -> bytes:
    """A tiny sheet that declares A1:XFD1048576 and holds a cell a million rows down."""
    xml = (
        _SHEET_OPEN
        + b'<dimension ref="A1:XFD1048576"/><sheetData><row r="1">'
        + _cell("A1", "slug")
        + b'</row><row r="1048576">'
        + _cell("XFD1048576", "far")
        + b"</row></sheetData></worksheet>"
    )
    return workbook(xml)


def billion_laughs() -> bytes:
    entities = b'<!ENTITY a0 "ha">' + b"".join(
        f'<!ENTITY a{i} "{("&a" + str(i - 1) + ";") * 10}">'.encode() for i in range(1, 10)
    )
    prolog = b'<?xml version="1.0"?><!DOCTYPE worksheet [' + entities + b"]>" + _SHEET_OPEN[38:]
    xml = (
        prolog
        + b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&a9;</t></is></c></row></sheetData></worksheet>'
    )
    return workbook(xml)


def many_members() -> bytes:
    return workbook(sheet_xml([["slug"], ["a"]]), extra={f"junk/{i}.xml": b"<a/>" for i in range(1500)})


# --- the corpus -----------------------------------------------------------------------------------


def _csv(text: str) -> bytes:
    return text.encode()


@functools.cache
def corpus() -> tuple[Probe, ...]:
    """Every malformed file, independent of the resource (built once: the bombs take a moment)."""
    rows = TEST_MAX_ROWS
    valid_xlsx = workbook(sheet_xml([["slug", "name"], ["ada", "Ada"]]))
    probes = [
        # Encodings.
        Probe(
            "csv-latin-1", CSV, "slug,name\nj\xe9r\xf4me,J\xe9r\xf4me\n".encode("latin-1"), place=r"line 2"
        ),
        Probe("csv-utf-16-le", CSV, "slug,name\nada,Ada\n".encode("utf-16"), place="UTF-16"),
        Probe("csv-utf-16-be", CSV, b"\xfe\xff" + "slug,name\nada,Ada\n".encode("utf-16-be"), place="UTF-16"),
        Probe("csv-bad-byte-line-3", CSV, b"slug,name\nok,ok\nbad,\xc3\x28\n", place=r"line 3 .*0xc3"),
        Probe("csv-binary-garbage", CSV, bytes(range(256)) * 8, place="not UTF-8"),
        Probe("json-latin-1", JSON, '[{"slug": "j\xe9r\xf4me"}]'.encode("latin-1"), place="line 1"),
        Probe("json-utf-16", JSON, '[{"slug": "ada"}]'.encode("utf-16"), place="UTF-16"),
        # Headers.
        Probe("csv-128k-header-cell", CSV, _csv("slug," + "x" * 131_100 + "\na,b\n"), place=r"Line 1"),
        Probe("csv-100k-header-cell", CSV, _csv("slug," + "x" * 100_000 + "\na,b\n"), place=r"Column 2"),
        Probe(
            "csv-128k-header-of-columns",
            CSV,
            _csv(",".join(f"col{i}" for i in range(20_000)) + "\n" + "a," * 5 + "\n"),
            place=r"20,000 columns",
        ),
        Probe("csv-unnamed-column", CSV, _csv("slug,,name\na,b,c\n"), place=r"Column 2"),
        Probe("csv-duplicate-column", CSV, _csv("slug,name,slug\na,b,c\n"), place=r"'slug' appears twice"),
        Probe("csv-nul-in-header", CSV, _csv("slug,na\x00me\na,b\n"), place=r"Column 2.*NUL"),
        Probe("csv-numbers-as-header", CSV, _csv("1,2,3\na,b,c\n")),
        Probe("csv-tab-separated", CSV, _csv("slug\tname\nada\tAda\n")),
        Probe("csv-semicolon-separated", CSV, _csv("slug;name\nada;Ada\n")),
        # Rows and cells.
        Probe(
            "csv-nul-in-cell",
            CSV,
            _csv("slug,name\nada,Ada\nbob,B\x00b\n"),
            place=r"Row 2, column 'name'.*NUL",
        ),
        Probe("csv-value-past-header", CSV, _csv("slug,name\nada,Ada,extra\n"), place=r"Row 1 .*'extra'"),
        Probe(
            "csv-unterminated-quote",
            CSV,
            _csv('slug,name\n"ada,Ada\nbob,Bob\n'),
            place="Line 2 .*never closed",
        ),
        Probe("csv-stray-quote", CSV, _csv('slug,name\n"ab"cd,x\n'), place="Line 2"),
        Probe(
            "csv-rows-past-cap",
            CSV,
            _csv("slug,name\n" + "".join(f"p{i},P\n" for i in range(rows + 1))),
            place=f"more than {rows}",
        ),
        Probe(
            "csv-blank-rows-past-cap",
            CSV,
            _csv("slug,name\n" + ",\n" * (rows + 1)),
            place=f"more than {rows}",
        ),
        Probe(
            "csv-bytes-past-cap",
            CSV,
            _csv("slug,name\n" + "a,b\n" * (TEST_MAX_BYTES // 4 + 1)),
            place=r"at most 256 KB",
        ),
        Probe("csv-empty", CSV, b"", place="empty"),
        Probe("csv-bom-only", CSV, b"\xef\xbb\xbf", place="empty"),
        Probe("csv-header-only", CSV, _csv("slug,name\n"), place="no data rows"),
        Probe("csv-blank-lines", CSV, _csv("\n\n\n"), place="empty"),
        Probe("csv-crlf-and-cr", CSV, _csv("slug,name\r\nada,Ada\rbob,Bob\r\n"), refused=False),
        Probe(
            "csv-formula-cells",
            CSV,
            _csv("slug,name\n=cmd|' /C calc'!A0,+1+1\n@SUM(A1),-2+3\n"),
            refused=False,
        ),
        Probe("csv-quoted-formula", CSV, _csv("slug,name\n'=1+1,'@x\n"), refused=False),
        Probe("csv-100k-cell", CSV, _csv("slug,name\nada," + "x" * 100_000 + "\n"), refused=False),
        Probe("csv-control-characters", CSV, _csv("slug,name\na\x01\x1b[31m,\u202eevil\n"), refused=False),
        # JSON of the wrong shape.
        Probe("json-list-of-lists", JSON, b"[[1,2,3]]", place="Row 1 is a list"),
        Probe("json-list-of-numbers", JSON, b"[1]", place="Row 1 is a number"),
        Probe("json-object", JSON, b"{}", place="is an object"),
        Probe("json-string", JSON, b'"x"', place="is a text"),
        Probe("json-null", JSON, b"null", place="is null"),
        Probe("json-true", JSON, b"true", place="is a boolean"),
        Probe("json-empty-list", JSON, b"[]", place="empty"),
        Probe("json-empty-object-row", JSON, b"[{}]", place="Row 1 is an empty object"),
        Probe("json-second-row-a-list", JSON, b'[{"slug": "a"}, ["b"]]', place="Row 2 is a list"),
        Probe("json-50000-nested", JSON, b"[" * 50_000, place="nested too deeply"),
        Probe("json-nan", JSON, b'[{"slug": "a", "n": NaN}]', place="NaN"),
        Probe("json-infinity", JSON, b'[{"slug": "a", "n": -Infinity}]', place="-Infinity"),
        Probe("json-1e999", JSON, b'[{"slug": "a", "n": 1e999}]', place="1e999 is too large"),
        Probe(
            "json-5000-digit-integer",
            JSON,
            b'[{"slug": "a", "n": ' + b"9" * 5000 + b"}]",
            place="over 4,300 digits",
        ),
        Probe(
            "json-duplicate-key",
            JSON,
            b'[{"slug": "a", "slug": "b"}]',
            place="Row 1 has the key 'slug' twice",
        ),
        Probe(
            "json-keys-differ",
            JSON,
            b'[{"slug": "a", "name": "A"}, {"slug": "b", "title": "B"}]',
            place="Row 2 lacks the key 'name'",
        ),
        Probe(
            "json-keys-reordered",
            JSON,
            b'[{"slug": "a", "name": "A"}, {"name": "B", "slug": "b"}]',
            refused=False,
        ),
        Probe("json-object-value", JSON, b'[{"slug": {"a": 1}}]', place="Row 1, column 'slug'"),
        Probe("json-list-of-lists-value", JSON, b'[{"slug": [[1]]}]', place="Row 1, column 'slug'"),
        Probe("json-not-json", JSON, b"nope", place="line 1, column 1"),
        Probe("json-extra-data", JSON, b'[{"slug": "a"}] [', place="Extra data at line 1, column 16"),
        Probe("json-missing-comma", JSON, b'[{"slug": "a"} {"slug": "b"}]', place="delimiter at line 1"),
        Probe("json-trailing-comma", JSON, b'[{"slug": "a"},]', place="line 1, column"),
        Probe(
            "json-rows-past-cap",
            JSON,
            json.dumps([{"slug": f"p{i}"} for i in range(rows + 1)]).encode(),
            place=f"more than {rows}",
        ),
        Probe("json-nul-in-value", JSON, b'[{"slug": "a\\u0000b"}]', place=r"Row 1, column 'slug'.*NUL"),
        Probe("json-huge-string", JSON, json.dumps([{"slug": "x" * 200_000}]).encode(), refused=False),
        # XLSX.
        Probe("xlsx-zip-bomb-150mb", XLSX, zip_bomb(), place=r"unpacks to 150 MB"),
        Probe("xlsx-ratio-bomb-40mb", XLSX, ratio_bomb(), place=r"times its packed size"),
        Probe("xlsx-lying-member-sizes", XLSX, lying_sizes(), place="cannot be read"),
        Probe("xlsx-dimension-bomb", XLSX, dimension_bomb(), place=f"more than {rows} rows"),
        Probe("xlsx-billion-laughs", XLSX, billion_laughs(), place="declares a DTD"),
        Probe("xlsx-many-members", XLSX, many_members(), place="1,505 parts"),
        Probe("xlsx-not-a-zip", XLSX, _csv("slug,name\nada,Ada\n"), place="not an XLSX"),
        Probe("xlsx-truncated", XLSX, valid_xlsx[: len(valid_xlsx) // 2], place="not an XLSX"),
        Probe(
            "xlsx-ole-encrypted",
            XLSX,
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 4096,
            place="not an XLSX",
        ),
        Probe("xlsx-zip-without-workbook", XLSX, _plain_zip(), place="cannot be read"),
        Probe(
            "xlsx-200-columns",
            XLSX,
            workbook(sheet_xml([[f"c{i}" for i in range(200)], ["a"] * 200])),
            place="more than 100 columns",
        ),
        Probe(
            "xlsx-rows-past-cap",
            XLSX,
            workbook(sheet_xml([["slug"], *[[f"p{i}"] for i in range(rows + 1)]])),
            place=f"more than {rows} rows",
        ),
        Probe("xlsx-empty-sheet", XLSX, workbook(sheet_xml([])), place="empty"),
        Probe("xlsx-header-only", XLSX, workbook(sheet_xml([["slug", "name"]])), place="no data rows"),
        Probe(
            "xlsx-value-past-header",
            XLSX,
            workbook(sheet_xml([["slug"], ["a", None, "far"]])),
            place=r"Row 1 .*'far'",
        ),
        Probe("xlsx-escaped-nul", XLSX, workbook(sheet_xml([["slug"], ["a_x0000_b"]])), refused=False),
        Probe("xlsx-formula-without-value", XLSX, workbook(_formula_sheet()), refused=False),
        Probe("xlsx-numbers-as-header", XLSX, workbook(sheet_xml([[1, 2.5], ["a", "b"]]))),
    ]
    return tuple(probes)


def _plain_zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("readme.txt", "not a workbook")
    return out.getvalue()


def _formula_sheet() -> bytes:
    return (
        _SHEET_OPEN
        + b'<sheetData><row r="1">'
        + _cell("A1", "slug")
        + b'</row><row r="2"><c r="A2"><f>HYPERLINK("http://evil","x")</f></c></row></sheetData></worksheet>'
    )
