"""Daily cloud costs per hub and component, read from each cluster's JupyterHub cost-monitoring service.

The service (github.com/2i2c-org/jupyterhub-cost-monitoring, ``src/jupyterhub_cost_monitoring/
app.py`` and ``query_cost_aws.py``) answers GETs with JSON lists, both taking ``from`` and ``to``
(``YYYY-MM-DDTHH:MMZ``, both days included):

* ``/total-costs-per-hub``: ``[{"date": "2024-03-01", "cost": "12.34", "name": "<hub>"}, ...]``,
  a row per day and hub tag; ``name`` is ``support`` for the costs no hub tag claims;
* ``/total-costs-per-component``, which also takes ``hub`` (a name of the rows above, ``support``
  included): ``[{"date": "2024-03-01", "cost": "3.21", "component": "home storage"}, ...]``, a
  row per day and component (``compute``, ``home storage``, ``core``, ``networking``, ``object
  storage``, ``backup``, ``other``) of that hub's costs.

A hub's total says nothing of its components and the cluster's components nothing of its hubs, so
neither answer alone fills a ``CloudCost`` (date, cluster, hub, component). The importer asks for
the per-hub answer of the window, then for the per-component answer of each hub it names that
opsite knows (``support`` included), as the service's own Grafana dashboard does for each hub:
those rows are the costs stored, ``support``'s with no hub. A name opsite does not know is not
asked about: it is reported with its total from the per-hub answer, and nothing of it is written.

A cluster's window is one batch, written in one transaction or not at all, and the answer is the
whole truth of each day it has rows for (a stored cost it no longer names is deleted); a day with
no rows (the provider has not reported it yet) is reported and left as it was. A cluster whose
service does not answer, or answers something that is not the documented JSON, fails alone.
"""

from __future__ import annotations

import json
import logging
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from http import HTTPStatus
from pathlib import Path
from typing import Any

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.db.models import Max
from django.utils import timezone
from requests.auth import AuthBase

from opsite.core.dates import plausible_range
from opsite.core.formatting import format_money
from opsite.core.money import CENT
from opsite.core.parsing import shown

from .answers import decode_json as answers_json
from .answers import read_saved
from .cost_services import (
    CostWriteResult,
    clean_amount,
    clean_component,
    cloud_costs_write,
    hubs_by_name,
)
from .credentials import source_credentials
from .models import CloudCost, CostSource
from .services import clean_day
from .usage import describe_error

logger = logging.getLogger(__name__)

PER_HUB = "/total-costs-per-hub"
PER_COMPONENT = "/total-costs-per-component"
# The keys of a saved file (``--save-to``, ``--from-file``): the answers by endpoint, the second
# by the ``hub`` each was asked for.
SAVED_KEYS = (PER_HUB.lstrip("/"), PER_COMPONENT.lstrip("/"))
RETRY_STATUSES = frozenset({502, 503, 504})
MAX_NAME_CHARS = 200
# The days a run reads (settings OPSITE_COST_INITIAL_DAYS, OPSITE_COST_REFRESH_DAYS): a cluster's
# first run reads 90 days back; later ones read again the last 3, which the cloud provider may still
# revise (AWS settles a day's costs within about three).


class CostMonitoringError(Exception):
    """A cost-monitoring service did not answer, or refused the request."""


class MalformedAnswer(CostMonitoringError):
    """An answer (or saved file) that is not the JSON the service documents."""


def decode_json(text: str, *, what: str) -> Any:
    """Decode ``text`` strictly, numbers exactly (``Decimal``), or say clearly what it was instead."""
    return answers_json(
        text, what=what, kind="a cost-monitoring answer", error=MalformedAnswer, parse_float=Decimal
    )


class CostMonitoringClient:
    """GETs to one cost-monitoring service, retrying 502/503/504 and timeouts a bounded number of times."""

    def __init__(
        self,
        *,
        base_url: str,
        name: str = "the cost-monitoring service",
        headers: dict[str, str] | None = None,
        auth: AuthBase | None = None,
        session: requests.Session | None = None,
        timeout: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_retries: int = 2,
        backoff: float | None = None,
    ):
        self.base_url = base_url.rstrip("/")
        self.name = name
        self.session = session or requests.Session()
        self.session.headers.update(headers or {})
        self.session.auth = auth
        # The service asks the cloud provider's billing API several times per answer: slow.
        read = timeout if timeout is not None else settings.OPSITE_COST_TIMEOUT_SECONDS
        self.timeout = (min(5, read), read)
        self.sleep = sleep
        self.max_retries = max_retries
        self.backoff = backoff if backoff is not None else settings.OPSITE_COST_RETRY_BACKOFF_SECONDS

    def __repr__(self) -> str:  # never the credentials
        return f"<CostMonitoringClient {self.name}>"

    @classmethod
    def for_source(cls, source: CostSource, **kwargs: Any) -> CostMonitoringClient:
        """A client with the source's credentials, read from the environment now."""
        headers, auth = source_credentials(source, error=CostMonitoringError)
        return cls(
            base_url=source.url,
            name=f"the cost-monitoring service of {source.cluster}",
            headers=headers,
            auth=auth,
            **kwargs,
        )

    def get(self, path: str, params: dict[str, str]) -> Any:
        """The decoded answer of ``path`` with ``params``."""
        asked = f"{path}?{'&'.join(f'{k}={v}' for k, v in params.items())}"
        retries = 0
        while True:
            try:
                response = self.session.get(f"{self.base_url}{path}", params=params, timeout=self.timeout)
            except (requests.ConnectionError, requests.Timeout) as exc:
                if retries >= self.max_retries:
                    raise CostMonitoringError(
                        f"{self.name} did not answer {asked}: {exc.__class__.__name__}."
                    ) from None
            else:
                if response.status_code not in RETRY_STATUSES or retries >= self.max_retries:
                    break
            self.sleep(self.backoff * 2**retries)
            retries += 1
        if not response.ok:
            raise CostMonitoringError(f"{self.name} refused {asked}: {_reason(response)}"[:500])
        return decode_json(response.text, what=f"The answer of {self.name} to {asked}")


def _reason(response: requests.Response) -> str:
    """Why the service refused: FastAPI's ``{"detail": ...}`` when it sent one, else the status."""
    try:
        detail = json.loads(response.text).get("detail")
    except (ValueError, AttributeError, RecursionError):
        detail = None
    if isinstance(detail, list):  # a 422: [{"loc": [...], "msg": "...", "type": "..."}]
        detail = "; ".join(
            str(item.get("msg", item)) if isinstance(item, dict) else str(item) for item in detail
        )
    try:  # the standard phrase: servers spell it their own way ("INTERNAL SERVER ERROR")
        phrase = HTTPStatus(response.status_code).phrase
    except ValueError:
        phrase = response.reason or ""
    status = f"{response.status_code} {phrase}".strip()
    return f"{status}: {detail}" if isinstance(detail, str) and detail else status


# --- the answers' rows ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One row of an answer: a day, what it is the cost of (a hub's name or a component), the cost."""

    day: date
    of: str
    amount: Decimal


def _rows(payload: Any, *, where: str, key: str, window: tuple[date, date] | None) -> list[Row]:
    """The rows ``[{"date", "cost", <key>}, ...]`` of an answer, each field read strictly."""
    if not isinstance(payload, list):
        raise MalformedAnswer(f"{where} should be a JSON list of rows, not {type(payload).__name__}.")
    rows: list[Row] = []
    seen: dict[tuple[date, str], int] = {}
    for number, item in enumerate(payload, 1):
        at = f"{where}, row {number}"
        if not isinstance(item, dict):
            raise MalformedAnswer(f"{at} is not an object.")
        of = item.get(key)
        if key == "name" and "hub" in item:  # as docs/definitions.md words it, and some proxies do
            if of is not None and of != item["hub"]:
                raise MalformedAnswer(f"{at}: 'name' {shown(of)} and 'hub' {shown(item['hub'])} differ.")
            of = item["hub"]
        missing = [
            name
            for name, value in (("date", item.get("date")), ("cost", item.get("cost")), (key, of))
            if value is None
        ]
        if missing:
            raise MalformedAnswer(
                f"{at}: {', '.join(repr(m) for m in missing)} missing; a row has date, cost, {key}."
            )
        try:
            day = clean_day(item["date"])
        except ValueError as exc:
            raise MalformedAnswer(f"{at}: the date {exc}") from None
        if window is not None and not window[0] <= day <= window[1]:
            raise MalformedAnswer(
                f"{at}: {day.isoformat()} is outside the days asked for, {window[0]} to {window[1]}."
            )
        try:
            amount = clean_amount(item["cost"])
        except ValueError as exc:
            raise MalformedAnswer(f"{at}: the cost {exc}") from None
        if key == "component":
            try:
                of = clean_component(of)
            except ValueError as exc:
                raise MalformedAnswer(f"{at}: {exc}") from None
        elif not isinstance(of, str) or len(of) > MAX_NAME_CHARS or "\x00" in of:
            raise MalformedAnswer(f"{at}: {shown(of)} is not a hub name.")
        first = seen.setdefault((day, of), number)
        if first != number:
            raise MalformedAnswer(f"{at}: {of} on {day.isoformat()} is already given in row {first}.")
        rows.append(Row(day, of, amount))
    return rows


@dataclass
class CostReport:
    """What one batch (a cluster's window, or a file) did, and what it left out and why."""

    name: str
    kind: str = "cluster"
    status: str = "succeeded"
    since: date | None = None
    until: date | None = None
    result: CostWriteResult = field(default_factory=CostWriteResult)
    # Hub names opsite does not know, with their cost over the batch (by currency).
    unknown_hubs: dict[str, str] = field(default_factory=dict)
    empty_days: list[date] = field(default_factory=list)
    # Days a hub's components do not add up to its total of the per-hub answer.
    mismatches: list[str] = field(default_factory=list)
    error: str = ""

    @property
    def failed(self) -> bool:
        return self.status == "failed"

    @property
    def written(self) -> int:
        return self.result.changed

    def __str__(self) -> str:
        if self.failed:
            return f"{self.kind} {self.name}: failed, nothing written: {self.error}"
        if self.status == "up_to_date":
            return f"{self.kind} {self.name}: up to date"
        window = f" {self.since} to {self.until}" if self.since else ""
        r = self.result
        text = (
            f"{self.kind} {self.name}{window}: {r.created} costs added, {r.updated} changed, "
            f"{r.deleted} removed, {r.unchanged} unchanged"
        )
        if self.empty_days:
            text += f"; no costs yet for {', '.join(day.isoformat() for day in self.empty_days)}"
        if self.mismatches:
            text += f"; components not adding up to the hub's total: {', '.join(self.mismatches)}"
        if self.unknown_hubs:
            shown_hubs = ", ".join(f"{name} ({total})" for name, total in self.unknown_hubs.items())
            text += f"; unknown hubs not written: {shown_hubs}"
        return text


def unknown_totals(amounts: dict[str, dict[str, Decimal]]) -> dict[str, str]:
    """``{name: "12.34 USD"}`` (currencies joined) for the report, names sorted."""
    return {
        name: " + ".join(format_money(total, currency) for currency, total in sorted(by_currency.items()))
        for name, by_currency in sorted(amounts.items())
    }


# --- one cluster ---------------------------------------------------------------------------------


def cost_window(source: CostSource, *, since: date | None, until: date | None) -> tuple[date, date]:
    """The days to ask for: after the cluster's latest cost, and the last few again, to yesterday."""
    until = until or timezone.localdate() - timedelta(days=1)
    if since is None:
        # A cost dated outside the plausible range (stored before it was checked) must not move
        # the window to year 9999.
        latest = CloudCost.objects.filter(cluster=source.cluster, date__range=plausible_range()).aggregate(
            latest=Max("date")
        )["latest"]
        refresh = settings.OPSITE_COST_REFRESH_DAYS
        if latest is not None:
            since = min(latest + timedelta(days=1), until - timedelta(days=refresh - 1))
        else:
            since = until - timedelta(days=settings.OPSITE_COST_INITIAL_DAYS - 1)
    return since, until


def _params(since: date, until: date) -> dict[str, str]:
    # The service's documented format; it reads both days as included.
    return {"from": f"{since.isoformat()}T00:00Z", "to": f"{until.isoformat()}T00:00Z"}


def ask_service(client: CostMonitoringClient, source: CostSource, since: date, until: date) -> dict[str, Any]:
    """The answers of one window: per hub, then per component of each hub opsite knows."""
    params = _params(since, until)
    per_hub = client.get(PER_HUB, params)
    rows = _rows(per_hub, where=f"The answer to {PER_HUB}", key="name", window=(since, until))
    names = {row.of for row in rows}
    known = hubs_by_name(
        {(source.cluster, name) for name in names}, {source.cluster: source.hub_mapping or {}}
    )
    per_component = {name: client.get(PER_COMPONENT, {**params, "hub": name}) for (_, name) in sorted(known)}
    return {SAVED_KEYS[0]: per_hub, SAVED_KEYS[1]: per_component}


def service_rows(
    answers: Any, *, source: CostSource, report: CostReport, window: tuple[date, date] | None
) -> tuple[list[dict], set[tuple[str, date]]]:
    """The ``cloud_costs_write`` rows of a window's answers, and the (cluster, day) pairs they cover.

    Unknown hub names go to the report with their totals; days without a row, to its empty days.
    """
    if not isinstance(answers, dict) or set(answers) != set(SAVED_KEYS):
        raise MalformedAnswer(
            f"The answers of {source.cluster} should be an object with the keys {', '.join(SAVED_KEYS)}."
        )
    cluster = source.cluster
    per_hub = _rows(answers[SAVED_KEYS[0]], where=f"The answer to {PER_HUB}", key="name", window=window)
    hubs = hubs_by_name({(cluster, row.of) for row in per_hub}, {cluster: source.hub_mapping or {}})
    unknown: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for row in per_hub:
        if (cluster, row.of) not in hubs:
            unknown[row.of][source.currency] += row.amount
    by_component = answers[SAVED_KEYS[1]]
    if not isinstance(by_component, dict):
        raise MalformedAnswer(f"The answers to {PER_COMPONENT} should be an object keyed by hub name.")
    sums: dict[tuple[date, Any, str], Decimal] = defaultdict(Decimal)
    days = {row.day for row in per_hub}
    totals = {(row.of, row.day): row.amount for row in per_hub}
    for (_, name), hub in sorted(hubs.items(), key=lambda item: item[0]):
        if name not in by_component:
            raise MalformedAnswer(f"No answer to {PER_COMPONENT} for the hub {name!r}.")
        where = f"The answer to {PER_COMPONENT}?hub={name}"
        parts: dict[date, list[Decimal]] = defaultdict(list)
        for row in _rows(by_component[name], where=where, key="component", window=window):
            # Names mapped to one hub (or to none) add up: costs are additive, unlike users.
            sums[(row.day, hub, row.of)] += row.amount
            days.add(row.day)
            parts[row.day].append(row.amount)
        report.mismatches += _mismatches(name, totals, parts, source.currency)
    if window is not None:
        span = (window[1] - window[0]).days + 1
        report.empty_days = [d for d in (window[0] + timedelta(days=n) for n in range(span)) if d not in days]
    report.unknown_hubs = unknown_totals(unknown)
    rows = [
        {
            "date": day,
            "cluster": cluster,
            "hub": hub,
            "component": component,
            "amount": amount,
            "currency": source.currency,
        }
        for (day, hub, component), amount in sorted(
            sums.items(), key=lambda item: (item[0][0], item[0][1].slug if item[0][1] else "", item[0][2])
        )
    ]
    return rows, {(cluster, day) for day in days}


def _mismatches(
    name: str, totals: dict[tuple[str, date], Decimal], parts: dict[date, list[Decimal]], currency: str
) -> list[str]:
    """The days a hub's components do not add up to its per-hub total, beyond each one's rounding.

    The components are what is stored; the per-hub total is only a check. The service rounds each
    to the cent, and moves home storage and core costs out of compute, flooring compute at 0:
    a difference past a cent per component says the two answers disagree, which the report shows.
    """
    found = []
    for day in sorted({d for (n, d) in totals if n == name} | set(parts)):
        total, amounts = totals.get((name, day), Decimal(0)), parts.get(day, [])
        if abs(total - sum(amounts, Decimal(0))) > CENT * max(len(amounts), 1):
            found.append(
                f"{name} {day.isoformat()} ({format_money(sum(amounts, Decimal(0)), currency)} of components, "
                f"{format_money(total, currency)} in all)"
            )
    return found


def _decimal_as_text(value: Any) -> str:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def cluster_costs_import(
    *,
    source: CostSource,
    since: date | None = None,
    until: date | None = None,
    answers: Any = None,
    save_to: str | Path | None = None,
    client: CostMonitoringClient | None = None,
) -> CostReport:
    """Import one cluster's window, from its service or from saved ``answers``, as one batch."""
    report = CostReport(name=source.cluster)
    window = None
    try:
        if answers is None:
            since, until = cost_window(source, since=since, until=until)
            report.since, report.until = since, until
            if since > until:
                report.status = "up_to_date"
                return report
            window = (since, until)
            client = client or CostMonitoringClient.for_source(source)
            answers = ask_service(client, source, since, until)
            if save_to is not None:
                Path(save_to).write_text(json.dumps(answers, default=_decimal_as_text), encoding="utf-8")
        rows, covered = service_rows(answers, source=source, report=report, window=window)
        if window is None and covered:
            report.since, report.until = min(day for _, day in covered), max(day for _, day in covered)
        # The recompute is asked for once per run, by ``cost_import``.
        report.result = cloud_costs_write(rows=rows, replace=covered, recompute=False)
    except (CostMonitoringError, ValidationError, OSError, IntegrityError) as exc:
        report.status, report.error, report.result = "failed", describe_error(exc), CostWriteResult()
        logger.warning("cloud cost import of cluster %s failed: %s", source.cluster, report.error)
    return report


def load_answers(path: str | Path) -> Any:
    """Saved answers (``{"total-costs-per-hub": [...], "total-costs-per-component": {hub: [...]}}``)."""
    path = Path(path)
    text = read_saved(
        path,
        expected="saved answers are UTF-8 JSON",
        malformed=MalformedAnswer,
        unreadable=CostMonitoringError,
    )
    return decode_json(text, what=path.name)


def file_costs_import(*, cluster: str, path: str | Path) -> CostReport:
    """Import saved answers for ``cluster``: its source's mapping and currency, if it has one."""
    # A cluster without a configured source still has hubs: no mapping, the service's USD.
    source = CostSource.objects.filter(cluster=cluster).first() or CostSource(cluster=cluster)
    try:
        answers = load_answers(path)
    except CostMonitoringError as exc:
        return CostReport(name=cluster, status="failed", error=str(exc))
    return cluster_costs_import(source=source, answers=answers)
