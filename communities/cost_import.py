"""``import_cloud_costs``: one run over the cost-monitoring services, saved answers, or a billing CSV.

The CSV finance teams export has the columns ``date,cluster,hub,component,cost,currency``: a
cluster's cost of one day and component, ``hub`` empty (or ``support``) for the costs no hub owns,
or a name the cluster's :class:`~communities.models.CostSource` maps. ``component`` is opsite's
name (``home_storage``) or the service's (``home storage``). The file is one batch: a bad row
refuses it whole, naming every bad row by number (the first data row is row 1), column and reason,
and nothing is written. It adds and updates costs, and removes none: a file may hold part of a day.

Each batch (a cluster, a file) commits on its own; the rollup recompute is asked for once per
run, after them all, when anything changed.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import IntegrityError

from opsite.core.dates import check_plausible
from opsite.core.resources import ImportFailed, RowError
from opsite.core.signals import request_recompute_for

from .cost_monitoring import CostReport, cluster_costs_import, file_costs_import, unknown_totals
from .cost_services import (
    MAX_CLUSTER_CHARS,
    clean_amount,
    clean_component,
    clean_currency,
    cloud_costs_write,
    hubs_by_name,
)
from .models import CloudCost, CostSource

# The usage CSVs' reading (encoding, header, NUL, cell length, days): one for the app's files.
from .usage import MAX_REPORTED_ERRORS, _cell, _date, _records, _refuse_if, _text, describe_error

CSV_COLUMNS = ("date", "cluster", "hub", "component", "cost", "currency")


def _checked(clean, record: dict, key: str, number: int, errors: list[RowError]):
    """``clean`` of the row's cell, or None with the reason noted on the row and column."""
    value = _cell(record, key, number, errors)
    if value is None:
        return None
    try:
        return clean(value)
    except ValueError as exc:
        errors.append(RowError(number, key, str(exc)))
        return None


def read_cost_csv(path: str | Path) -> tuple[list[dict], CostReport]:
    """The billing CSV as :func:`cloud_costs_write` rows, and its report (unknown hubs)."""
    report = CostReport(name=Path(path).name, kind="cloud costs CSV")
    errors: list[RowError] = []
    parsed: list[tuple[int, dict, str]] = []  # (row number, row without its hub, the hub's name)
    for number, record in _records(path, CSV_COLUMNS):
        bad = len(errors)
        day = _date(record, "date", number, errors)
        cluster = _text(record, "cluster", number, errors)
        if len(cluster) > MAX_CLUSTER_CHARS:
            errors.append(RowError(number, "cluster", f"{cluster[:20]!r}… is longer than a cluster name."))
        hub = _cell(record, "hub", number, errors)
        component = _checked(clean_component, record, "component", number, errors)
        amount = _checked(clean_amount, record, "cost", number, errors)
        currency = _checked(clean_currency, record, "currency", number, errors)
        if len(errors) > bad or len(errors) >= MAX_REPORTED_ERRORS:
            continue
        row = {
            "date": day,
            "cluster": cluster,
            "component": component,
            "amount": amount,
            "currency": currency,
        }
        parsed.append((number, row, hub))
    _refuse_if(errors)

    clusters = {row["cluster"] for _, row, _ in parsed}
    mappings = dict(CostSource.objects.filter(cluster__in=clusters).values_list("cluster", "hub_mapping"))
    hubs = hubs_by_name({(row["cluster"], name) for _, row, name in parsed}, mappings)
    unknown: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    seen: dict[tuple, int] = {}
    rows: list[dict] = []
    for number, row, name in parsed:
        if (row["cluster"], name) not in hubs:
            unknown[name][row["currency"]] += row["amount"]
            continue
        hub = hubs[(row["cluster"], name)]
        key = (row["date"], row["cluster"], hub.pk if hub else None, row["component"])
        first = seen.setdefault(key, number)
        if first != number:
            owner = f"hub {hub.slug}" if hub else "no hub"
            errors.append(
                RowError(
                    number,
                    "hub",
                    f"{row['cluster']}, {row['date']}, {row['component']}, {owner} is already given on row {first}.",
                )
            )
            continue
        rows.append({**row, "hub": hub})
    _refuse_if(errors)
    report.unknown_hubs = unknown_totals(unknown)
    if rows:
        report.since, report.until = min(r["date"] for r in rows), max(r["date"] for r in rows)
    return rows, report


def csv_costs_import(*, path: str | Path) -> CostReport:
    """Import a billing CSV as one batch; the report says which hubs were not known."""
    try:
        rows, report = read_cost_csv(path)
        # Its caller asks for the recompute (``cost_import``: once per run).
        report.result = cloud_costs_write(rows=rows, recompute=False)
    except (ImportFailed, ValidationError, IntegrityError) as exc:
        return CostReport(
            name=Path(path).name, kind="cloud costs CSV", status="failed", error=describe_error(exc)
        )
    return report


@dataclass
class CostImportReport:
    """Every batch of one ``import_cloud_costs`` run."""

    parts: list[CostReport] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(part.failed for part in self.parts)

    @property
    def written(self) -> int:
        return sum(part.written for part in self.parts)

    @property
    def unknown_hubs(self) -> list[str]:
        return sorted({name for part in self.parts for name in part.unknown_hubs})

    def lines(self) -> list[str]:
        return [str(part) for part in self.parts]


def cost_import(
    *,
    cluster: str | None = None,
    since: date | None = None,
    until: date | None = None,
    from_file: str | Path | None = None,
    save_to: str | Path | None = None,
    csv: str | Path | None = None,
) -> CostImportReport:
    """One import run: the named files, or else every enabled cost source (or ``cluster``'s).

    Each cluster and each file is its own batch; the rollup recompute is requested once at the
    end when anything changed.
    """
    if save_to is not None and not cluster:
        raise ValidationError({"save_to": "Saving the answers needs --cluster: one file holds one cluster."})
    if from_file is not None and not cluster:
        raise ValidationError({"cluster": "Saved answers need --cluster to say whose they are."})
    check_plausible(since, field="since")
    check_plausible(until, field="until")
    if since and until and since > until:
        raise ValidationError({"since": f"{since} is after {until}: nothing to ask for."})
    report = CostImportReport()
    if from_file is not None:
        report.parts.append(file_costs_import(cluster=cluster, path=from_file))
    elif csv is None:
        sources = CostSource.objects.order_by("cluster")
        sources = sources.filter(cluster=cluster) if cluster else sources.filter(enabled=True)
        if cluster and not sources:
            raise ValidationError({"cluster": f"No cost source is configured for the cluster {cluster!r}."})
        for source in sources:
            report.parts.append(
                cluster_costs_import(source=source, since=since, until=until, save_to=save_to)
            )
    if csv is not None:
        report.parts.append(csv_costs_import(path=csv))
    if report.written:
        # Once per run, after every batch has committed (each cluster and file is its own).
        request_recompute_for(CloudCost)
    return report
