"""Daily active users per hub, read from each cluster's Prometheus.

JupyterHub exports ``jupyterhub_active_users`` with a ``period`` label (``24h``, ``7d``, ``30d``);
the hub is named by a label of the series, ``namespace`` by default. For every enabled
:class:`~communities.models.PrometheusSource` the importer asks ``/api/v1/query_range`` for
``max(jupyterhub_active_users{period="<p>"}) by (<label>)`` at a one-day step over the days it
does not have yet, and upserts ``ActiveUserCount``.

A day's figure is the sample taken at the instant the day ends (00:00 UTC of the next day): the
24h count at that instant is exactly that day's users. Each cluster is one batch, written in one
transaction or not at all; a cluster whose server does not answer, or answers something that is
not the documented JSON, fails alone and the others go on.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from requests.auth import AuthBase

from opsite.core.dates import check_plausible, plausible_range
from opsite.core.parsing import shown
from opsite.core.resources import ImportFailed
from opsite.core.signals import request_recompute_for

from .answers import decode_json, read_saved
from .choices import UsagePeriod
from .credentials import source_credentials
from .models import ActiveUserCount, Hub, PrometheusSource
from .services import active_user_counts_upsert, clean_count
from .usage import (
    FileReport,
    cluster_usage_csv_import,
    describe_error,
    exclusion_pattern,
    hub_usage_csv_import,
)

logger = logging.getLogger(__name__)

PERIODS = tuple(UsagePeriod.values)
QUERY = 'max(jupyterhub_active_users{{period="{period}"}}) by ({label})'
DAY_SECONDS = 86400
RETRY_STATUSES = frozenset({502, 503, 504})


class PrometheusError(Exception):
    """A Prometheus server did not answer, or refused the query."""


class MalformedResponse(PrometheusError):
    """An answer (or saved file) that is not the JSON the Prometheus HTTP API documents."""


class PrometheusClient:
    """``query_range`` against one Prometheus server, retrying 502/503/504 a bounded number of times."""

    def __init__(
        self,
        *,
        base_url: str,
        name: str = "Prometheus",
        headers: dict[str, str] | None = None,
        auth: AuthBase | None = None,
        session: requests.Session | None = None,
        timeout: tuple[int, int] = (5, 60),
        sleep: Callable[[float], None] = time.sleep,
        max_retries: int = 2,
        backoff: float | None = None,
    ):
        self.base_url = base_url.rstrip("/")
        self.name = name
        self.session = session or requests.Session()
        self.session.headers.update(headers or {})
        self.session.auth = auth
        self.timeout = timeout
        self.sleep = sleep
        self.max_retries = max_retries
        # Seconds before the first retry, doubling after; a setting so tests need not wait.
        self.backoff = (
            backoff if backoff is not None else getattr(settings, "OPSITE_USAGE_RETRY_BACKOFF_SECONDS", 2)
        )

    def __repr__(self) -> str:  # never the credentials
        return f"<PrometheusClient {self.name}>"

    @classmethod
    def for_source(cls, source: PrometheusSource, **kwargs: Any) -> PrometheusClient:
        """A client with the source's credentials, read from the environment now."""
        headers, auth = source_credentials(source, error=PrometheusError)
        return cls(
            base_url=source.url,
            name=f"the Prometheus of {source.cluster}",
            headers=headers,
            auth=auth,
            **kwargs,
        )

    def query_range(self, query: str, *, start: datetime, end: datetime, step: int = DAY_SECONDS) -> Any:
        """The decoded answer to ``query`` from ``start`` to ``end`` (both included)."""
        params = {"query": query, "start": int(start.timestamp()), "end": int(end.timestamp()), "step": step}
        what = f"{self.name} for {query}"
        retries = 0
        while True:
            try:
                response = self.session.get(
                    f"{self.base_url}/api/v1/query_range", params=params, timeout=self.timeout
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                if retries >= self.max_retries:
                    raise PrometheusError(f"{self.name} did not answer: {exc.__class__.__name__}.") from None
            else:
                if response.status_code not in RETRY_STATUSES or retries >= self.max_retries:
                    break
            self.sleep(self.backoff * 2**retries)
            retries += 1
        if not response.ok:
            # The API's own errors (400, 422, 503) carry a JSON envelope; a proxy's do not.
            try:
                envelope = response.json()
            except ValueError:
                envelope = None
            if isinstance(envelope, dict) and envelope.get("status") == "error":
                reason = f"{envelope.get('errorType', '?')}: {envelope.get('error', '')}"
            else:
                reason = f"{response.status_code} {response.reason}"
            raise PrometheusError(f"{self.name} refused {query}: {reason}"[:500])
        return parse_json(response.text, what=f"The answer of {what}")


def parse_json(text: str, *, what: str) -> Any:
    """Decode ``text`` strictly, or say clearly what it was instead of JSON."""
    return decode_json(text, what=what, kind="a Prometheus answer", error=MalformedResponse)


def _sample_time(value: Any, *, where: str) -> float:
    """A sample's unix time, refused unless it is a finite number within the plausible dates.

    ``NaN``, ``1e20`` or a time before 1970 would crash or overflow the conversion to a day; a
    time outside ``OPSITE_PLAUSIBLE_DATES`` would store a sample no rollup can place.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MalformedResponse(f"{where}: the time {shown(value)} is not a unix time.")
    first, last = plausible_range()
    earliest = datetime(first.year, first.month, first.day, tzinfo=UTC).timestamp()
    latest = datetime(last.year, last.month, last.day, tzinfo=UTC).timestamp() + DAY_SECONDS
    # NaN compares false with everything: the ``not`` keeps it out.
    if not earliest < value <= latest:
        raise MalformedResponse(
            f"{where}: the time {shown(value)} is not a unix time between {first.isoformat()} and "
            f"{last.isoformat()} (the dates opsite accepts)."
        )
    return float(value)


def sample_day(timestamp: int | float) -> date:
    """The day a sample closes: a sample at 00:00 UTC belongs to the day that just ended."""
    return (datetime.fromtimestamp(timestamp, tz=UTC) - timedelta(seconds=1)).date()


def _users(value: Any, *, where: str) -> int:
    # Prometheus writes a sample as a string ("12"; "NaN", "+Inf", "1e+21" past 1e21): only ASCII
    # digits are a count, checked before any conversion (opsite.core.parsing).
    if not isinstance(value, str):
        raise MalformedResponse(f"{where}: the value {shown(value)} is not a whole number of users.")
    try:
        return clean_count(value, refusal="is not a whole number of users.")
    except ValueError as exc:
        raise MalformedResponse(f"{where}: the value {exc}") from None


Series = tuple[dict[str, str], list[tuple[date, int]]]


def parse_matrix(payload: Any, *, where: str) -> list[Series]:
    """Check a ``query_range`` answer against the documented shape; ``(labels, [(day, users)])``.

    ``{"status": "success", "data": {"resultType": "matrix", "result": [{"metric": {...},
    "values": [[<unix time>, "<value>"], ...]}, ...]}}``
    """
    if not isinstance(payload, dict):
        raise MalformedResponse(f"{where} should be a JSON object, not {type(payload).__name__}.")
    if payload.get("status") != "success":
        raise MalformedResponse(f"{where}: 'status' is {payload.get('status')!r}, not 'success'.")
    data = payload.get("data")
    if not isinstance(data, dict):
        raise MalformedResponse(f"{where}: 'data' is missing or not an object.")
    if data.get("resultType") != "matrix":
        raise MalformedResponse(f"{where}: 'resultType' is {data.get('resultType')!r}, not 'matrix'.")
    result = data.get("result")
    if not isinstance(result, list):
        raise MalformedResponse(f"{where}: 'result' is missing or not a list.")
    parsed: list[Series] = []
    for index, series in enumerate(result, 1):
        at = f"{where}, series {index}"
        if not isinstance(series, dict):
            raise MalformedResponse(f"{at} is not an object.")
        metric, values = series.get("metric"), series.get("values")
        if not isinstance(metric, dict) or not all(isinstance(v, str) for v in metric.values()):
            raise MalformedResponse(f"{at}: 'metric' is missing or not an object of label strings.")
        if not isinstance(values, list):
            raise MalformedResponse(f"{at}: 'values' is missing or not a list.")
        samples = []
        for number, sample in enumerate(values, 1):
            if not isinstance(sample, list) or len(sample) != 2:
                raise MalformedResponse(f'{at}: {shown(sample)} is not a [<unix time>, "<value>"] pair.')
            users = _users(sample[1], where=f"{at}, sample {number}")
            when = _sample_time(sample[0], where=f"{at}, sample {number}")
            samples.append((sample_day(when), users))
        parsed.append((metric, samples))
    return parsed


def split_periods(payload: Any, *, where: str) -> dict[str, list[Series]]:
    """Series by period, from ``{period: answer}`` or one answer whose series carry ``period``."""
    if isinstance(payload, dict) and "status" not in payload:
        if not payload or not set(payload) <= set(PERIODS):
            raise MalformedResponse(
                f"{where} should be a query_range answer, or an object of answers keyed by {', '.join(PERIODS)}."
            )
        return {
            period: parse_matrix(answer, where=f"{where} [{period}]") for period, answer in payload.items()
        }
    by_period: dict[str, list[Series]] = {period: [] for period in PERIODS}
    for index, (labels, samples) in enumerate(parse_matrix(payload, where=where), 1):
        if labels.get("period") not in by_period:
            raise MalformedResponse(f"{where}, series {index}: no 'period' label among {', '.join(PERIODS)}.")
        by_period[labels["period"]].append((labels, samples))
    return by_period


@dataclass
class ClusterReport:
    """What one cluster's import did: the window, rows written, hubs left out and why."""

    cluster: str
    status: str = "succeeded"
    since: date | None = None
    until: date | None = None
    written: int = 0
    unknown_hubs: list[str] = field(default_factory=list)
    excluded_hubs: list[str] = field(default_factory=list)
    error: str = ""

    @property
    def failed(self) -> bool:
        return self.status == "failed"

    def __str__(self) -> str:
        if self.failed:
            return f"cluster {self.cluster}: failed, nothing written: {self.error}"
        if self.status == "up_to_date":
            return f"cluster {self.cluster}: up to date"
        window = f" {self.since} to {self.until}" if self.since else ""
        text = f"cluster {self.cluster}{window}: {self.written} counts written"
        if self.excluded_hubs:
            text += f"; {len(self.excluded_hubs)} excluded hubs skipped ({', '.join(self.excluded_hubs)})"
        if self.unknown_hubs:
            text += f"; unknown hubs not written: {', '.join(self.unknown_hubs)}"
        return text


def usage_rows(
    series_by_period: dict[str, list[Series]],
    *,
    source: PrometheusSource,
    known: set[str],
    report: ClusterReport,
) -> list[dict]:
    """``active_user_counts_upsert`` rows; unknown and excluded hubs go to the report."""
    exclude = exclusion_pattern()
    mapping = source.hub_mapping or {}
    rows: dict[tuple[str, date, str], int] = {}
    unknown: set[str] = set()
    excluded: set[str] = set()
    for period, series in series_by_period.items():
        for labels, samples in series:
            value = labels.get(source.hub_label, "")
            slug = mapping.get(value, value)
            if exclude and slug and exclude.search(slug):
                excluded.add(slug)
            elif slug not in known:
                unknown.add(value or f"(no {source.hub_label} label)")
            else:
                for day, users in samples:
                    # Two label values mapped to one hub: keep the larger figure, never a sum.
                    key = (slug, day, period)
                    rows[key] = max(users, rows.get(key, 0))
    report.unknown_hubs, report.excluded_hubs = sorted(unknown), sorted(excluded)
    return [
        {"hub": hub, "date": day, "period": period, "active_users": users}
        for (hub, day, period), users in sorted(rows.items())
    ]


def usage_window(source: PrometheusSource, *, since: date | None, until: date | None) -> tuple[date, date]:
    """The missing days: from the day after the cluster's latest count to yesterday."""
    until = until or timezone.localdate() - timedelta(days=1)
    if since is None:
        # A sample dated outside the plausible range (stored before it was checked) must not
        # move the window to year 9999, where the next day overflows.
        latest = ActiveUserCount.objects.filter(
            hub__cluster=source.cluster, date__range=plausible_range()
        ).aggregate(latest=Max("date"))["latest"]
        if latest is not None:
            since = latest + timedelta(days=1)
        else:
            since = until - timedelta(days=getattr(settings, "OPSITE_USAGE_INITIAL_DAYS", 365) - 1)
    return since, until


def _day_end(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1)


def cluster_usage_import(
    *,
    source: PrometheusSource,
    since: date | None = None,
    until: date | None = None,
    payload: Any = None,
    save_to: str | Path | None = None,
    client: PrometheusClient | None = None,
) -> ClusterReport:
    """Import one cluster, from its server or from a saved ``payload``, as one batch."""
    report = ClusterReport(cluster=source.cluster)
    try:
        if payload is None:
            since, until = usage_window(source, since=since, until=until)
            report.since, report.until = since, until
            if since > until:
                report.status = "up_to_date"
                return report
            client = client or PrometheusClient.for_source(source)
            payload = {
                period: client.query_range(
                    QUERY.format(period=period, label=source.hub_label),
                    start=_day_end(since),
                    end=_day_end(until),
                )
                for period in PERIODS
            }
            if save_to is not None:
                Path(save_to).write_text(json.dumps(payload), encoding="utf-8")
        series = split_periods(payload, where=f"the usage of {source.cluster}")
        known = set(Hub.objects.values_list("slug", flat=True))
        rows = usage_rows(series, source=source, known=known, report=report)
        with transaction.atomic():
            # The recompute is asked for once per run, by ``usage_import``.
            active_user_counts_upsert(rows=rows, recompute=False)
        report.written = len(rows)
    except (PrometheusError, ValidationError, ImportFailed, OSError) as exc:
        report.status, report.error, report.written = "failed", describe_error(exc), 0
        logger.warning("usage import of cluster %s failed: %s", source.cluster, report.error)
    return report


def load_usage_file(path: str | Path) -> Any:
    """A saved Prometheus answer (or ``{period: answer}``), decoded."""
    path = Path(path)
    text = read_saved(
        path,
        expected="a saved Prometheus answer is UTF-8 JSON",
        malformed=MalformedResponse,
        unreadable=PrometheusError,
    )
    return parse_json(text, what=path.name)


@dataclass
class UsageReport:
    """Every batch of one ``import_usage`` run."""

    clusters: list[ClusterReport] = field(default_factory=list)
    files: list[FileReport] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(part.failed for part in [*self.clusters, *self.files])

    @property
    def written(self) -> int:
        return sum(part.written for part in [*self.clusters, *self.files])

    def lines(self) -> list[str]:
        return [str(part) for part in [*self.clusters, *self.files]]


def usage_import(
    *,
    cluster: str | None = None,
    since: date | None = None,
    until: date | None = None,
    from_file: str | Path | None = None,
    save_to: str | Path | None = None,
    hub_csv: str | Path | None = None,
    cluster_csv: str | Path | None = None,
) -> UsageReport:
    """One import run: the named files, or else every enabled Prometheus source.

    Each cluster and each file is its own batch; the rollup recompute is requested once at the
    end when anything was written.
    """
    if save_to is not None and not cluster:
        raise ValidationError({"save_to": "Saving the answers needs --cluster: one file holds one cluster."})
    check_plausible(since, field="since")
    check_plausible(until, field="until")
    report = UsageReport()
    files_given = any(p is not None for p in (from_file, hub_csv, cluster_csv))
    if from_file is not None:
        if not cluster:
            raise ValidationError({"cluster": "A saved Prometheus file needs --cluster to say whose it is."})
        # A cluster without a configured source still has hubs: use the default label, no mapping.
        source = PrometheusSource.objects.filter(cluster=cluster).first() or PrometheusSource(cluster=cluster)
        try:
            payload = load_usage_file(from_file)
        except PrometheusError as exc:
            report.clusters.append(ClusterReport(cluster=cluster, status="failed", error=str(exc)))
        else:
            report.clusters.append(cluster_usage_import(source=source, payload=payload))
    elif not files_given:
        sources = PrometheusSource.objects.order_by("cluster")
        sources = sources.filter(cluster=cluster) if cluster else sources.filter(enabled=True)
        if cluster and not sources:
            raise ValidationError(
                {"cluster": f"No Prometheus source is configured for the cluster {cluster!r}."}
            )
        for source in sources:
            report.clusters.append(
                cluster_usage_import(source=source, since=since, until=until, save_to=save_to)
            )
    if hub_csv is not None:
        report.files.append(hub_usage_csv_import(path=hub_csv))
    if cluster_csv is not None:
        report.files.append(cluster_usage_csv_import(path=cluster_csv))
    if report.written:
        # Once per run, after every batch has committed (each cluster and file is its own).
        request_recompute_for(ActiveUserCount)
    return report
