"""The public data files of hub usage, in the shapes such organizations already publish.

``maus-by-hub.csv`` (``date,hub,users,cluster``)
    every 30d active-users sample of a hub, as stored: the hub's slug and its cluster (empty when
    it has none). BinderHubs are left out: their counts are sessions, not users (as in the MAU).
``maus-unique-by-cluster.csv`` (``date,cluster,unique_users``)
    every cluster's unique users over 30 days, deduplicated across its hubs, as stored.

Both hold rows dated within the plausible range only, sorted by date then hub (or cluster). Their
keys, (date, hub) and (date, cluster), are unique (the tables' constraints) and their counts are
never negative (the columns'). A file is **stale** when its newest row is more than
:data:`STALE_AFTER_DAYS` days before today (UTC): the answer says so in a header, so that a
publisher's check fails loudly rather than show old figures as current.

Rendering reads every row, so each worker keeps the rendered file with a signature of its
tables (a count, the highest id, the latest write and the newest date: one query per table),
read at most once per :data:`~opsite.kpis.api.public.VERSION_TTL`.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db.models import Count, Max, QuerySet

from communities import rollups as usage_rollups
from communities.choices import HubKind, UsagePeriod
from communities.models import ClusterUsage, Hub
from opsite.core.dates import plausible_range

STALE_AFTER_DAYS = 7


@dataclass(frozen=True)
class DataFile:
    """One public data file: its name, its exact header, the columns that key a row."""

    name: str
    header: tuple[str, ...]
    key: tuple[str, ...]
    rows: Callable[[], QuerySet]
    signature: Callable[[], tuple[str, date | None]]

    @property
    def filename(self) -> str:
        return f"{self.name}.csv"


def _hub_samples() -> QuerySet:
    return (
        usage_rollups.plausible_samples()
        .filter(period=UsagePeriod.MONTH)
        .exclude(hub__kind=HubKind.BINDERHUB)
        .order_by("date", "hub__slug")
        .values_list("date", "hub__slug", "active_users", "hub__cluster")
    )


def _cluster_samples() -> QuerySet:
    return (
        ClusterUsage.objects.filter(date__range=plausible_range())
        .order_by("date", "cluster")
        .values_list("date", "cluster", "unique_users")
    )


def _digest(*parts: Any) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:32]


def _table_state(rows: QuerySet) -> dict[str, Any]:
    return rows.order_by().aggregate(
        count=Count("pk"), top=Max("pk"), written=Max("updated_at"), newest=Max("date")
    )


def _hub_signature() -> tuple[str, date | None]:
    samples = _table_state(usage_rollups.plausible_samples().filter(period=UsagePeriod.MONTH))
    # A hub renamed (its slug), moved to another cluster or turned into a BinderHub changes the file.
    hubs = Hub.objects.aggregate(count=Count("pk"), written=Max("updated_at"))
    return _digest(samples, hubs), samples["newest"]


def _cluster_signature() -> tuple[str, date | None]:
    state = _table_state(ClusterUsage.objects.filter(date__range=plausible_range()))
    return _digest(state), state["newest"]


FILES: dict[str, DataFile] = {
    file.name: file
    for file in (
        DataFile(
            "maus-by-hub", ("date", "hub", "users", "cluster"), ("date", "hub"), _hub_samples, _hub_signature
        ),
        DataFile(
            "maus-unique-by-cluster",
            ("date", "cluster", "unique_users"),
            ("date", "cluster"),
            _cluster_samples,
            _cluster_signature,
        ),
    )
}


def render(header: Iterable[str], rows: Iterable[tuple]) -> bytes:
    """The CSV text of ``rows`` under ``header``: dates as YYYY-MM-DD, lines ended by CRLF (RFC 4180)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow([value.isoformat() if isinstance(value, date) else value for value in row])
    return buffer.getvalue().encode()


def is_stale(newest: date | None, today: date) -> bool:
    """Whether a file whose newest row is dated ``newest`` is stale on ``today`` (an empty one is)."""
    return newest is None or newest < today - timedelta(days=STALE_AFTER_DAYS)


@dataclass(frozen=True)
class Rendered:
    version: str
    newest: date | None
    content: bytes
    # The same bytes gzipped, once per version: a file of every hub's months is hundreds of KB,
    # and moving them costs a worker more than the rest of the answer.
    gzipped: bytes = b""


# The rendered file of each name in this process, replaced when its signature changes.
_RENDERED: dict[str, Rendered] = {}


def forget() -> None:
    _RENDERED.clear()


def rendered(file: DataFile, *, signature: tuple[str, date | None]) -> Rendered:
    """``file`` as bytes for the tables' ``signature``: reused while the signature holds."""
    version, newest = signature
    kept = _RENDERED.get(file.name)
    if kept is not None and kept.version == version:
        return kept
    content = render(file.header, file.rows().iterator(chunk_size=2000))
    kept = Rendered(version, newest, content, gzip.compress(content, compresslevel=6, mtime=0))
    _RENDERED[file.name] = kept
    return kept
