"""The usage files organizations publish: per-hub active users and per-cluster unique users.

* the per-hub CSV, columns ``date,hub,users,cluster``: each hub's 30-day active users per day,
  written as ``ActiveUserCount`` rows of period ``30d``;
* the per-cluster CSV, columns ``date,cluster,unique_users``: users deduplicated across a
  cluster's hubs, written as :class:`~communities.models.ClusterUsage`.

Each file is one batch: a bad row refuses the whole file, naming every bad row by number
(the first data row is row 1), field and reason, and nothing is written. Hubs the file names
that opsite does not know are reported, never silently dropped; hubs matching the exclusion
pattern (``OPSITE_USAGE_EXCLUDE_PATTERN``, default ``staging``) are skipped and counted.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from opsite.core.parsing import shown
from opsite.core.resources import ImportFailed, RowError

from .choices import UsagePeriod
from .models import ClusterUsage, Hub
from .services import active_user_counts_upsert, clean_count, clean_day

logger = logging.getLogger(__name__)

HUB_COLUMNS = ("date", "hub", "users", "cluster")
CLUSTER_COLUMNS = ("date", "cluster", "unique_users")
# Past this many bad rows the file is plainly the wrong one; listing more helps nobody.
MAX_REPORTED_ERRORS = 50


def exclusion_pattern() -> re.Pattern | None:
    """Hubs whose slug matches are test or staging deployments, never counted as usage."""
    pattern = getattr(settings, "OPSITE_USAGE_EXCLUDE_PATTERN", "staging")
    return re.compile(pattern) if pattern else None


def describe_error(exc: Exception) -> str:
    """A failure as one readable line: ``field: reason`` for validation errors."""
    if isinstance(exc, ValidationError):
        if hasattr(exc, "error_dict"):
            return "; ".join(
                f"{name}: {message}" for name, messages in exc.message_dict.items() for message in messages
            )
        return "; ".join(exc.messages)
    return (str(exc) or exc.__class__.__name__)[:2000]


@dataclass
class FileReport:
    """What one usage file gave: rows read and written, and the hubs left out and why."""

    name: str
    kind: str
    status: str = "succeeded"
    rows: int = 0
    written: int = 0
    unknown_hubs: list[str] = field(default_factory=list)
    excluded_hubs: list[str] = field(default_factory=list)
    error: str = ""

    @property
    def failed(self) -> bool:
        return self.status == "failed"

    def __str__(self) -> str:
        if self.failed:
            return f"{self.kind} {self.name}: failed, nothing written: {self.error}"
        text = f"{self.kind} {self.name}: {self.rows} rows, {self.written} written"
        if self.excluded_hubs:
            text += f"; {len(self.excluded_hubs)} excluded hubs skipped ({', '.join(self.excluded_hubs)})"
        if self.unknown_hubs:
            text += f"; unknown hubs not written: {', '.join(self.unknown_hubs)}"
        return text


# A usage file's header is a handful of column names; a longer first line is not one.
MAX_HEADER_CHARS = 1000
# Longer than any hub slug, cluster name, date or count a row can hold.
MAX_CELL_CHARS = 200
# UTF-16 and UTF-32 files start with one of these: named, since "invalid start byte" helps nobody.
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def _decode(path: Path, raw: bytes) -> str:
    """The file's text, read as UTF-8 (a spreadsheet's BOM dropped), or ImportFailed naming the line."""
    if raw.startswith(_UTF16_BOMS):
        raise ImportFailed(
            [RowError(0, "", f"{path.name} is UTF-16 text; save it as CSV in UTF-8 and import it again.")]
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        byte = raw[exc.start : exc.start + 1].hex()
        raise ImportFailed(
            [
                RowError(
                    0,
                    "",
                    f"{path.name} is not UTF-8 text: line {line} holds the byte 0x{byte} (Latin-1 or "
                    "Windows-1252?); save it as CSV in UTF-8 and import it again.",
                )
            ]
        ) from None


def _records(path: str | Path, columns: tuple[str, ...]):
    """``(row number, record)`` for each data row, after checking the encoding and the header.

    Every way a file can fail to be a CSV (encoding, a runaway first line, a NUL, an unclosed
    quote) is an :class:`ImportFailed` naming the line, never a traceback.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ImportFailed([RowError(0, "", f"cannot read {path.name}: {exc.strerror or exc}")]) from None
    text = _decode(path, raw)
    first_line = text.split("\n", 1)[0]
    if len(first_line) > MAX_HEADER_CHARS:
        raise ImportFailed(
            [
                RowError(
                    0,
                    "",
                    f"the header (line 1) is {len(first_line):,} characters long; expected the columns "
                    f"{','.join(columns)}.",
                )
            ]
        )
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise ImportFailed([RowError(0, "", f"line {line} contains a NUL character (\\x00); not a CSV.")])
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        header = [name.strip() for name in reader.fieldnames or []]
    except csv.Error as exc:
        raise ImportFailed([RowError(0, "", f"line 1: not a readable CSV: {exc}")]) from None
    missing = [name for name in columns if name not in header]
    if missing:
        raise ImportFailed(
            [RowError(0, "", f"missing column(s) {', '.join(missing)}; expected {','.join(columns)}")]
        )
    reader.fieldnames = header
    try:
        yield from enumerate(reader, 1)
    except csv.Error as exc:
        # A line of the file, not a data row (a quoted cell may span lines); the DictReader's own
        # count is only updated after a row is read whole, the inner reader's is current.
        line = reader.reader.line_num
        raise ImportFailed([RowError(0, "", f"line {line}: not a readable CSV: {exc}")]) from None


def _cell(record: dict, key: str, number: int, errors: list[RowError]) -> str | None:
    """The trimmed text of a cell, or None (an error noted) when it is too long to be a value."""
    value = record.get(key)
    value = value.strip() if isinstance(value, str) else ""
    if len(value) > MAX_CELL_CHARS:
        errors.append(RowError(number, key, f"{shown(value)} is too long to be a {key}."))
        return None
    return value


def _date(record: dict, key: str, number: int, errors: list[RowError]) -> date | None:
    value = _cell(record, key, number, errors)
    if value is None:
        return None
    try:
        return clean_day(value)
    except ValueError as exc:
        # "… is not a date (YYYY-MM-DD)." or the plausible range it is outside of.
        errors.append(RowError(number, key, str(exc)))
        return None


# A spreadsheet saving a count column as CSV may write 12 as "12.0": that one shape of a whole
# number is read as such; "12.5", "1,200" and the rest are refused like any other count.
_SPREADSHEET_WHOLE = re.compile(r"([0-9]{1,20})\.0{1,10}")


def _count(record: dict, key: str, number: int, errors: list[RowError]) -> int | None:
    value = _cell(record, key, number, errors)
    if value is None:
        return None
    if isinstance(value, str) and (whole := _SPREADSHEET_WHOLE.fullmatch(value.strip())):
        value = whole.group(1)
    try:
        return clean_count(value, refusal="is not a whole number of users (ASCII digits, 0 or more).")
    except ValueError as exc:
        errors.append(RowError(number, key, str(exc)))
        return None


def _text(record: dict, key: str, number: int, errors: list[RowError]) -> str:
    value = _cell(record, key, number, errors)
    if value == "":
        errors.append(RowError(number, key, "is empty."))
    return value or ""


def _refuse_if(errors: list[RowError]) -> None:
    if errors:
        raise ImportFailed(errors[:MAX_REPORTED_ERRORS])


def read_hub_csv(path: str | Path) -> tuple[list[dict], FileReport]:
    """The per-hub CSV as ``active_user_counts_upsert`` rows (period ``30d``), and its report."""
    report = FileReport(name=Path(path).name, kind="per-hub usage")
    known = set(Hub.objects.values_list("slug", flat=True))
    exclude = exclusion_pattern()
    errors: list[RowError] = []
    seen: dict[tuple[str, date], int] = {}
    rows: list[dict] = []
    unknown: set[str] = set()
    excluded: set[str] = set()
    for number, record in _records(path, HUB_COLUMNS):
        report.rows += 1
        bad = len(errors)
        day = _date(record, "date", number, errors)
        hub = _text(record, "hub", number, errors)
        users = _count(record, "users", number, errors)
        if len(errors) > bad or len(errors) >= MAX_REPORTED_ERRORS:
            continue
        if exclude and exclude.search(hub):
            excluded.add(hub)
            continue
        if hub not in known:
            unknown.add(hub)
            continue
        first = seen.setdefault((hub, day), number)
        if first != number:
            errors.append(RowError(number, "hub", f"{hub} on {day} is already given on row {first}."))
            continue
        rows.append({"hub": hub, "date": day, "period": UsagePeriod.MONTH.value, "active_users": users})
    _refuse_if(errors)
    report.unknown_hubs, report.excluded_hubs = sorted(unknown), sorted(excluded)
    return rows, report


def read_cluster_csv(path: str | Path) -> tuple[list[dict], FileReport]:
    """The per-cluster CSV as :func:`cluster_usages_upsert` rows, and its report."""
    report = FileReport(name=Path(path).name, kind="per-cluster usage")
    errors: list[RowError] = []
    seen: dict[tuple[str, date], int] = {}
    rows: list[dict] = []
    for number, record in _records(path, CLUSTER_COLUMNS):
        report.rows += 1
        bad = len(errors)
        day = _date(record, "date", number, errors)
        cluster = _text(record, "cluster", number, errors)
        users = _count(record, "unique_users", number, errors)
        if len(cluster) > ClusterUsage._meta.get_field("cluster").max_length:
            errors.append(RowError(number, "cluster", f"{cluster[:20]!r}… is longer than a cluster name."))
        if len(errors) > bad or len(errors) >= MAX_REPORTED_ERRORS:
            continue
        first = seen.setdefault((cluster, day), number)
        if first != number:
            errors.append(RowError(number, "cluster", f"{cluster} on {day} is already given on row {first}."))
            continue
        rows.append({"cluster": cluster, "date": day, "unique_users": users})
    _refuse_if(errors)
    return rows, report


@transaction.atomic
def cluster_usages_upsert(*, rows: list[dict]) -> int:
    """Insert or update :class:`ClusterUsage` by (cluster, date), all in one transaction.

    Rows are dicts with ``cluster``, ``date`` (a date) and ``unique_users`` (an int >= 0), as
    :func:`read_cluster_csv` gives them; the database's unique constraint makes it an upsert.
    """
    objects = [ClusterUsage(**row) for row in rows]
    for number, usage in enumerate(objects, 1):
        try:
            usage.full_clean(validate_unique=False, validate_constraints=False)
        except ValidationError as exc:
            raise ImportFailed(
                [RowError(number, name, " ".join(messages)) for name, messages in exc.message_dict.items()]
            ) from None
    ClusterUsage.objects.bulk_create(
        objects,
        batch_size=500,
        update_conflicts=True,
        unique_fields=["cluster", "date"],
        update_fields=["unique_users", "updated_at"],
    )
    return len(objects)


def _failed(path: str | Path, kind: str, exc: Exception) -> FileReport:
    report = FileReport(name=Path(path).name, kind=kind, status="failed", error=describe_error(exc))
    # Usage figures are not sensitive; the message names rows, fields and values, never a secret.
    logger.warning("usage import of %s failed: %s", report.name, report.error)
    return report


def hub_usage_csv_import(*, path: str | Path) -> FileReport:
    """Import a per-hub usage CSV as one batch; the report says what was skipped and why."""
    try:
        rows, report = read_hub_csv(path)
        # Its caller asks for the recompute (``usage_import``: once per run).
        active_user_counts_upsert(rows=rows, recompute=False)
    except (ImportFailed, ValidationError) as exc:
        return _failed(path, "per-hub usage", exc)
    report.written = len(rows)
    return report


def cluster_usage_csv_import(*, path: str | Path) -> FileReport:
    """Import a per-cluster unique-users CSV as one batch."""
    try:
        rows, report = read_cluster_csv(path)
        report.written = cluster_usages_upsert(rows=rows)
    except (ImportFailed, ValidationError) as exc:
        return _failed(path, "per-cluster usage", exc)
    return report
