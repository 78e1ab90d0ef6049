"""Writes to cloud costs and their sources (docs/definitions.md#cloud-costs).

Every door (admin, import/export, API) writes one row through the
:class:`~opsite.core.services.ModelWrites` at the bottom of this module; the importers
(``communities.cost_monitoring``, ``communities.cost_import``) write a batch through
:func:`cloud_costs_write`, which checks every row as strictly as the importers read them (the
``clean_*`` functions here are theirs too) and writes with a fixed number of statements.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from opsite.core import deletions
from opsite.core.money import CENT
from opsite.core.parsing import parse_decimal, shown
from opsite.core.recompute import requests_ignored
from opsite.core.services import ModelWrites, assign, by_natural_key
from opsite.core.signals import request_recompute_for

from .choices import CostComponent
from .models import CloudCost, CostSource, Hub
from .services import UPSERT_BATCH_SIZE, clean_day

CLOUD_COST_FIELDS = frozenset({"date", "cluster", "hub", "component", "amount", "currency"})
COST_SOURCE_FIELDS = frozenset(
    {"cluster", "url", "auth", "username", "secret_env", "hub_mapping", "currency", "enabled"}
)

# The cost-monitoring service's name for the costs no hub tag claims (its ``/total-costs-per-hub``
# rows and its ``hub`` query parameter): the cluster's own costs, stored with no hub.
SUPPORT = "support"

# The service's spellings of the components (``home storage``), and opsite's own.
COMPONENT_SPELLINGS: dict[str, str] = {
    **{value: value for value in CostComponent.values},
    **{value.replace("_", " "): value for value in CostComponent.values},
}
_COMPONENT_LIST = ", ".join(CostComponent.values)

# A money column holds 14 digits, 2 of them after the point.
MAX_AMOUNT = Decimal(10) ** 12
_CURRENCY = re.compile(r"[A-Z]{3}")
MAX_CLUSTER_CHARS = CloudCost._meta.get_field("cluster").max_length


# --- one cell, read strictly (the importers and the batch write share these) ------------------


def clean_component(value: object) -> str:
    """``value`` as a component: opsite's name (``home_storage``) or the service's (``home storage``)."""
    if isinstance(value, str) and value.strip() in COMPONENT_SPELLINGS:
        return COMPONENT_SPELLINGS[value.strip()]
    raise ValueError(f"{shown(value)} is not a component; use one of {_COMPONENT_LIST}.")


def clean_amount(value: object) -> Decimal:
    """``value`` as a cost: a decimal number of at most two places, 0 or more, read strictly.

    Text is ``opsite.core.parsing``'s one spelling of a decimal (the service writes ``"12.34"``);
    a JSON number is read exactly (the importers decode them as ``Decimal``). Places past the cent
    are refused, never rounded, unless they are zeros.
    """
    try:
        amount = parse_decimal(value, floats=False)
    except ValueError as exc:
        raise ValueError(f"{exc} A cost is written like 12.34.") from None
    if amount < 0:
        raise ValueError(f"{shown(value)} is negative: a cost is 0 or more (credits are not costs).")
    if amount >= MAX_AMOUNT:
        raise ValueError(f"{shown(value)} is more than a cost can be (less than 1,000,000,000,000).")
    cents = amount.quantize(CENT)
    if cents != amount:
        raise ValueError(f"{shown(value)} has more than two decimal places: a cost is in cents.")
    return abs(cents)  # "-0.00" is no cost, not a negative one


def clean_currency(value: object) -> str:
    """``value`` as an ISO 4217 code in capitals (``USD``)."""
    if isinstance(value, str) and _CURRENCY.fullmatch(value.strip()):
        return value.strip()
    raise ValueError(f"{shown(value)} is not a currency: give its ISO 4217 code in capitals, such as USD.")


def clean_cluster(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{shown(value)} is not a cluster name.")
    if len(value.strip()) > MAX_CLUSTER_CHARS or "\x00" in value:
        raise ValueError(f"{shown(value)} is not a cluster name (at most {MAX_CLUSTER_CHARS} characters).")
    return value.strip()


# --- hub names, as the service and the files give them -----------------------------------------


def hubs_by_name(pairs: Iterable[tuple[str, str]], mappings: Mapping[str, Mapping[str, str]]) -> dict:
    """The hub (or ``None``: the cluster's own costs) each ``(cluster, name)`` stands for; one query.

    A cluster's mapping (its :class:`CostSource`'s ``hub_mapping``) wins; then an empty name or
    ``support`` is the cluster's own costs; then a name is a hub's slug. Names that are none of
    these are left out: the importers report them as unknown hubs.
    """
    target: dict[tuple[str, str], str] = {}
    for cluster, name in pairs:
        mapping = mappings.get(cluster) or {}
        if name in mapping:
            target[(cluster, name)] = mapping[name]
        else:
            target[(cluster, name)] = "" if name in ("", SUPPORT) else name
    slugs = {slug for slug in target.values() if slug and "\x00" not in slug}
    hubs = {hub.slug: hub for hub in Hub.objects.filter(slug__in=slugs).only("id", "slug")} if slugs else {}
    return {key: hubs[slug] if slug else None for key, slug in target.items() if not slug or slug in hubs}


# --- a batch of rows ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CostWriteResult:
    """What a batch did: rows inserted, changed, already as given, and removed (a replaced day's
    rows its new answer no longer has)."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0

    @property
    def changed(self) -> int:
        return self.created + self.updated + self.deleted


CLOUD_COST_ROW = ("date", "cluster", "hub", "component", "amount", "currency")
Key = tuple[date, str, int | None, str]


def _parse_rows(rows: Sequence[Any]) -> dict[Key, tuple[int, Decimal, str]]:
    """Each row checked, by its key: ``{(date, cluster, hub id, component): (index, amount, currency)}``."""
    errors: dict[str, list[str]] = defaultdict(list)
    slugs = {row["hub"] for row in rows if isinstance(row, Mapping) and isinstance(row.get("hub"), str)}
    known = {h.slug: h.pk for h in Hub.objects.filter(slug__in=slugs).only("id", "slug")} if slugs else {}
    parsed: dict[Key, tuple[int, Decimal, str]] = {}
    for index, row in enumerate(rows):
        if not isinstance(row, Mapping) or set(row) != set(CLOUD_COST_ROW):
            errors["rows"].append(f"row {index}: expected an object with {', '.join(CLOUD_COST_ROW)}.")
            continue
        values: dict[str, Any] = {}
        for name, clean in (
            ("date", clean_day),
            ("cluster", clean_cluster),
            ("component", clean_component),
            ("amount", clean_amount),
            ("currency", clean_currency),
        ):
            try:
                values[name] = clean(row[name])
            except ValueError as exc:
                errors[name].append(f"row {index}: {exc}")
        hub = row["hub"]
        if hub is None or (isinstance(hub, Hub) and hub.pk is not None):
            values["hub"] = hub.pk if hub is not None else None
        elif isinstance(hub, str) and hub in known:
            values["hub"] = known[hub]
        else:
            errors["hub"].append(f"row {index}: no hub with slug {shown(hub)}.")
        if len(values) < len(CLOUD_COST_ROW):
            continue
        key = (values["date"], values["cluster"], values["hub"], values["component"])
        if key in parsed:
            errors["rows"].append(
                f"row {index}: repeats row {parsed[key][0]} ({values['cluster']}, {key[0].isoformat()}, "
                f"{values['component']}, the same hub)."
            )
            continue
        parsed[key] = (index, values["amount"], values["currency"])
    if errors:
        raise ValidationError(dict(errors))
    return parsed


@transaction.atomic
def cloud_costs_write(
    *,
    rows: Sequence[Mapping[str, Any]],
    replace: Iterable[tuple[str, date]] = (),
    recompute: bool = True,
) -> CostWriteResult:
    """Insert or update many cloud costs by (date, cluster, hub, component), all or nothing.

    Each row is a mapping of ``date``, ``cluster``, ``hub`` (a :class:`Hub`, its slug, or ``None``
    for the cluster's own costs), ``component``, ``amount`` and ``currency``. Every row is
    checked first; a bad one raises a ``ValidationError`` keyed by field whose messages name its
    index in ``rows``, and nothing is written. A row already stored as given is left alone, so
    importing the same days twice changes nothing.

    ``replace`` names the (cluster, day) pairs the rows are the whole truth of: what is stored for
    them and missing from the rows is deleted (a cost-monitoring answer is the cluster's every
    cost of each day it covers, and a day's costs move between hubs when a mapping is corrected).

    Costs a fixed number of statements (hubs named by slug, the stored rows, one insert, one
    update and a delete per few hundred rows), never one per row. Bulk writes send no signal: the
    rollup recompute is asked for here when anything changed, or, with ``recompute=False``, by
    the caller (the importers ask once per run). A concurrent import of the same days may fail on
    the unique constraints (nothing of this batch is then written); it is never duplicated.
    """
    rows = list(rows)
    parsed = _parse_rows(rows)
    replaced = {(cluster, day) for cluster, day in replace}
    days = [key[0] for key in parsed] + [day for _, day in replaced]
    if not days:
        return CostWriteResult()
    clusters = {key[1] for key in parsed} | {cluster for cluster, _ in replaced}
    stored: dict[Key, tuple[int, Decimal, str]] = {
        (day, cluster, hub_id, component): (pk, amount, currency)
        for pk, day, cluster, hub_id, component, amount, currency in CloudCost.objects.filter(
            cluster__in=clusters, date__range=(min(days), max(days))
        ).values_list("id", "date", "cluster", "hub_id", "component", "amount", "currency")
    }
    now = timezone.now()
    to_create, to_update = [], []
    for (day, cluster, hub_id, component), (_, amount, currency) in parsed.items():
        found = stored.get((day, cluster, hub_id, component))
        if found is None:
            to_create.append(
                CloudCost(
                    date=day,
                    cluster=cluster,
                    hub_id=hub_id,
                    component=component,
                    amount=amount,
                    currency=currency,
                )
            )
        elif (found[1], found[2]) != (amount, currency):
            to_update.append(CloudCost(id=found[0], amount=amount, currency=currency, updated_at=now))
    stale = [pk for key, (pk, _, _) in stored.items() if (key[1], key[0]) in replaced and key not in parsed]
    if to_create:
        CloudCost.objects.bulk_create(to_create, batch_size=UPSERT_BATCH_SIZE)
    if to_update:
        CloudCost.objects.bulk_update(
            to_update, ["amount", "currency", "updated_at"], batch_size=UPSERT_BATCH_SIZE
        )
    if stale:
        # The signals' per-row requests would each ask for a recompute: asked for once, below.
        with requests_ignored(), deletions.stamped_once():
            CloudCost.objects.filter(pk__in=stale).delete()
    result = CostWriteResult(
        created=len(to_create),
        updated=len(to_update),
        unchanged=len(parsed) - len(to_create) - len(to_update),
        deleted=len(stale),
    )
    if result.changed and recompute:
        request_recompute_for(CloudCost)
    return result


# --- one row at a time: the admin, import/export and the API -----------------------------------


def _hub(value: Hub | str | None) -> Hub | None:
    if value is None or value == "":
        return None
    return by_natural_key(Hub, value, key="slug", field="hub")


@transaction.atomic
def cloud_cost_create(
    *,
    date: date,
    cluster: str,
    component: str,
    amount: Decimal,
    hub: Hub | str | None = None,
    currency: str | None = None,
) -> CloudCost:
    """Record one day's cost of a cluster's component, owned by ``hub`` or (``None``) by no hub."""
    cost = CloudCost(date=date, cluster=cluster, hub=_hub(hub), component=component, amount=amount)
    if currency is not None:
        cost.currency = currency
    cost.full_clean()
    cost.save()
    return cost


@transaction.atomic
def cloud_cost_update(*, cloud_cost: CloudCost, data: Mapping[str, Any]) -> CloudCost:
    data = dict(data)
    if "hub" in data:
        data["hub"] = _hub(data["hub"])
    assign(cloud_cost, data, CLOUD_COST_FIELDS)
    cloud_cost.full_clean()
    cloud_cost.save()
    return cloud_cost


@transaction.atomic
def cost_source_create(
    *,
    cluster: str,
    url: str,
    auth: str = CostSource.Auth.NONE,
    username: str = "",
    secret_env: str = "",
    hub_mapping: dict[str, str] | None = None,
    currency: str = "USD",
    enabled: bool = True,
) -> CostSource:
    """Say where a cluster's cost-monitoring service answers; ``secret_env`` names a variable, never a secret."""
    source = CostSource(
        cluster=cluster,
        url=url,
        auth=auth,
        username=username,
        secret_env=secret_env,
        hub_mapping={} if hub_mapping is None else hub_mapping,
        currency=currency,
        enabled=enabled,
    )
    source.full_clean()
    source.save()
    return source


@transaction.atomic
def cost_source_update(*, cost_source: CostSource, data: Mapping[str, Any]) -> CostSource:
    assign(cost_source, data, COST_SOURCE_FIELDS)
    cost_source.full_clean()
    cost_source.save()
    return cost_source


# No rule here reads other rows: each row's checks are its model's (``full_clean()`` at every
# door), and deleting has no rule beyond the database's, so the kernel's delete serves.
CLOUD_COST_WRITES = ModelWrites(
    model=CloudCost, create=cloud_cost_create, update=cloud_cost_update, fields=CLOUD_COST_FIELDS
)
COST_SOURCE_WRITES = ModelWrites(
    model=CostSource, create=cost_source_create, update=cost_source_update, fields=COST_SOURCE_FIELDS
)
