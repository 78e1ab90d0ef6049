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
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from opsite.core.resources import ImportFailed, RowError

from .choices import UsagePeriod
from .models import ClusterUsage, Hub
from .services import active_user_counts_upsert

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


def _records(path: str | Path, columns: tuple[str, ...]):
    """``(row number, record)`` for each data row, after checking the header."""
    path = Path(path)
    try:
        stream = path.open(newline="", encoding="utf-8-sig")  # a spreadsheet's BOM is not a column name
    except OSError as exc:
        raise ImportFailed([RowError(0, "", f"cannot read {path.name}: {exc.strerror or exc}")]) from None
    with stream:
        reader = csv.DictReader(stream)
        header = [name.strip() for name in reader.fieldnames or []]
        missing = [name for name in columns if name not in header]
        if missing:
            raise ImportFailed(
                [RowError(0, "", f"missing column(s) {', '.join(missing)}; expected {','.join(columns)}")]
            )
        reader.fieldnames = header
        try:
            yield from enumerate(reader, 1)
        except (csv.Error, UnicodeDecodeError) as exc:
            raise ImportFailed([RowError(reader.line_num, "", f"not a readable CSV: {exc}")]) from None


def _date(record: dict, key: str, number: int, errors: list[RowError]) -> date | None:
    value = (record.get(key) or "").strip()
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors.append(RowError(number, key, f"{value!r} is not a date (YYYY-MM-DD)."))
        return None


def _count(record: dict, key: str, number: int, errors: list[RowError]) -> int | None:
    value = (record.get(key) or "").strip()
    if value.isdigit():  # the common case, without the cost of a Decimal
        return int(value)
    try:
        parsed = Decimal(value)
    except InvalidOperation:
        parsed = None
    # "12.0" is what some tools write for 12; "12.5" users is not a count.
    if parsed is None or not parsed.is_finite() or parsed < 0 or parsed != parsed.to_integral_value():
        errors.append(RowError(number, key, f"{value!r} is not a whole number of users (0 or more)."))
        return None
    return int(parsed)


def _text(record: dict, key: str, number: int, errors: list[RowError]) -> str:
    value = (record.get(key) or "").strip()
    if not value:
        errors.append(RowError(number, key, "is empty."))
    return value


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


def hub_usage_csv_import(*, path: str | Path) -> FileReport:
    """Import a per-hub usage CSV as one batch; the report says what was skipped and why."""
    try:
        rows, report = read_hub_csv(path)
        # Its caller asks for the recompute (``usage_import``: once per run).
        active_user_counts_upsert(rows=rows, recompute=False)
    except (ImportFailed, ValidationError) as exc:
        return FileReport(
            name=Path(path).name, kind="per-hub usage", status="failed", error=describe_error(exc)
        )
    report.written = len(rows)
    return report


def cluster_usage_csv_import(*, path: str | Path) -> FileReport:
    """Import a per-cluster unique-users CSV as one batch."""
    try:
        rows, report = read_cluster_csv(path)
        report.written = cluster_usages_upsert(rows=rows)
    except (ImportFailed, ValidationError) as exc:
        return FileReport(
            name=Path(path).name, kind="per-cluster usage", status="failed", error=describe_error(exc)
        )
    return report
