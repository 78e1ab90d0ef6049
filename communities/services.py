"""Writes to networks, communities, hubs, hub usage and the usage importer's settings.

Every door (admin, import, API, the batch endpoint) writes through the
:class:`~opsite.core.services.ModelWrites` at the bottom of this module; the importers, the
demo loader and the other apps call these functions directly (docs/architecture.md "One write
path"). A row's own fields are checked by the model's ``clean()``; the services set the derived
columns of a community (:func:`community_derive`).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from opsite.core.countries import region_for_country
from opsite.core.dates import implausible_message, is_plausible
from opsite.core.parsing import parse_integer, shown
from opsite.core.services import ModelWrites, assign, by_natural_key
from opsite.core.signals import request_recompute_for

from .choices import MARGINALIZED_KINDS, NON_MARGINALIZED_REGIONS, HubKind, UsagePeriod
from .models import ActiveUserCount, ClusterUsage, Community, Hub, Network, PrometheusSource

NETWORK_FIELDS = frozenset({"slug", "name"})
COMMUNITY_FIELDS = frozenset(
    {
        "slug",
        "name",
        "kind",
        "country",
        "region",
        "networks",
        "joined_on",
        "left_on",
        "website",
        "marginalized_override",
    }
)
HUB_FIELDS = frozenset(
    {"slug", "community", "name", "url", "cluster", "provider", "kind", "launched_on", "retired_on"}
)
ACTIVE_USER_COUNT_FIELDS = frozenset({"active_users"})
# What identifies a sample: given to ``active_user_count_create``, never changed afterwards.
ACTIVE_USER_COUNT_IDENTITY = frozenset({"hub", "date", "period"})
PROMETHEUS_SOURCE_FIELDS = frozenset(
    {"cluster", "url", "auth", "username", "secret_env", "hub_label", "hub_mapping", "enabled"}
)
CLUSTER_USAGE_FIELDS = frozenset({"cluster", "date", "unique_users"})

# Rows written per INSERT statement by the bulk upsert: well under every backend's limit on
# query parameters (SQLite's is the lowest).
UPSERT_BATCH_SIZE = 500


# --- derived fields -------------------------------------------------------------------------


def community_derive(community: Community) -> None:
    """Fill the derived columns of ``community`` in place, from its own fields.

    * ``region``: from ``country`` when blank; an explicit region is kept.
    * ``historically_marginalized`` (docs/definitions.md#historically-marginalized-community):
      ``marginalized_override`` when set; otherwise an educational institution that is not an R1
      university, or a community whose region is neither North America nor Western Europe.

    It reads no other row, so a bulk path (the demo loader's ``bulk_create``) derives a whole
    batch with no query at all; :func:`community_create` and :func:`community_update` call it
    for every door.
    """
    if not community.region and community.country:
        community.region = region_for_country(community.country)
    if community.marginalized_override is not None:
        community.historically_marginalized = bool(community.marginalized_override)
    else:
        community.historically_marginalized = (
            community.kind in MARGINALIZED_KINDS or community.region not in NON_MARGINALIZED_REGIONS
        )


# --- lookups by natural key -----------------------------------------------------------------


def _community_by_slug(value: Community | str) -> Community:
    return by_natural_key(Community, value, key="slug", field="community")


def _hub_by_slug(value: Hub | str) -> Hub:
    return by_natural_key(Hub, value, key="slug", field="hub")


def _networks_by_slug(values: Iterable[Network | str]) -> list[Network]:
    values = list(values)
    slugs = {v for v in values if not isinstance(v, Network)}
    found = {n.slug: n for n in Network.objects.filter(slug__in=slugs)} if slugs else {}
    missing = sorted(slugs - found.keys())
    if missing:
        names = ", ".join(repr(s) for s in missing)
        raise ValidationError({"networks": f"No network with slug {names}."})
    return [v if isinstance(v, Network) else found[v] for v in values]


# --- networks -------------------------------------------------------------------------------


@transaction.atomic
def network_create(*, slug: str, name: str) -> Network:
    network = Network(slug=slug, name=name)
    network.full_clean()
    network.save()
    return network


@transaction.atomic
def network_update(*, network: Network, data: Mapping[str, Any]) -> Network:
    assign(network, data, NETWORK_FIELDS)
    network.full_clean()
    network.save()
    return network


# --- communities ----------------------------------------------------------------------------


@transaction.atomic
def community_create(
    *,
    slug: str,
    name: str,
    kind: str,
    country: str,
    joined_on: date,
    region: str = "",
    networks: Iterable[Network | str] = (),
    left_on: date | None = None,
    website: str = "",
    marginalized_override: bool | None = None,
) -> Community:
    """Create a community; ``networks`` are networks or their slugs, ``region`` blank derives it."""
    network_rows = _networks_by_slug(networks)
    community = Community(
        slug=slug,
        name=name,
        kind=kind,
        country=country,
        region=region,
        joined_on=joined_on,
        left_on=left_on,
        website=website,
        marginalized_override=marginalized_override,
    )
    community.full_clean()  # first: deriving the region needs a known country
    community_derive(community)
    community.save()
    if network_rows:
        community.networks.set(network_rows)
    return community


@transaction.atomic
def community_update(*, community: Community, data: Mapping[str, Any]) -> Community:
    """Change the fields named in ``data`` (any of :data:`COMMUNITY_FIELDS`), and derive again.

    A new ``country`` without a ``region`` re-derives the region: keeping the old one would
    silently leave a community that moved from the US to Kenya in North America. The country is
    compared with the stored row, not with ``community``: the admin's form sets the new value on
    the instance before it reaches here (and sends only the fields the user changed).
    """
    data = dict(data)
    networks = data.pop("networks", None)
    network_rows = _networks_by_slug(networks) if networks is not None else None
    if "country" in data and "region" not in data:
        stored = Community.objects.filter(pk=community.pk).values_list("country", flat=True).first()
        if data["country"] != stored:
            data["region"] = ""
    assign(community, data, COMMUNITY_FIELDS)
    community.full_clean()  # first: deriving the region needs a known country
    community_derive(community)
    community.save()
    if network_rows is not None:
        community.networks.set(network_rows)
    return community


# --- hubs -----------------------------------------------------------------------------------


@transaction.atomic
def hub_create(
    *,
    slug: str,
    community: Community | str,
    name: str,
    provider: str,
    launched_on: date,
    kind: str = HubKind.BASEHUB,
    url: str = "",
    cluster: str = "",
    retired_on: date | None = None,
) -> Hub:
    """Create a hub; ``community`` is a community or its slug."""
    hub = Hub(
        slug=slug,
        community=_community_by_slug(community),
        name=name,
        provider=provider,
        kind=kind,
        url=url,
        cluster=cluster,
        launched_on=launched_on,
        retired_on=retired_on,
    )
    hub.full_clean()
    hub.save()
    return hub


@transaction.atomic
def hub_update(*, hub: Hub, data: Mapping[str, Any]) -> Hub:
    """Change the fields named in ``data`` (any of :data:`HUB_FIELDS`; ``community`` by slug too)."""
    data = dict(data)
    if "community" in data:
        data["community"] = _community_by_slug(data["community"])
    assign(hub, data, HUB_FIELDS)
    hub.full_clean()
    hub.save()
    return hub


# --- usage ----------------------------------------------------------------------------------


@transaction.atomic
def active_user_count_create(
    *, hub: Hub | str, date: date, period: str, active_users: int
) -> ActiveUserCount:
    """Record one sample; for many at once (importers), use :func:`active_user_counts_upsert`."""
    count = ActiveUserCount(hub=_hub_by_slug(hub), date=date, period=period, active_users=active_users)
    count.full_clean()
    count.save()
    return count


@transaction.atomic
def active_user_count_update(
    *, active_user_count: ActiveUserCount, data: Mapping[str, Any]
) -> ActiveUserCount:
    """Correct the number of a sample; its hub, date and period are its identity.

    An import row repeats the identity (it is how the row was matched): that is no change. A
    different one is a programming error (the admin shows them read-only, the API refuses them).
    """
    data = {
        name: value
        for name, value in data.items()
        if name not in ACTIVE_USER_COUNT_IDENTITY or value != getattr(active_user_count, name)
    }
    assign(active_user_count, data, ACTIVE_USER_COUNT_FIELDS)
    active_user_count.full_clean()
    active_user_count.save()
    return active_user_count


@dataclass(frozen=True)
class UpsertResult:
    """What an upsert did: rows inserted, rows whose number changed, rows already as given."""

    created: int
    updated: int
    unchanged: int


_PERIODS = frozenset(UsagePeriod.values)
_PERIOD_LIST = ", ".join(UsagePeriod.values)


# ``YYYY-MM-DD`` in ASCII digits: ``date.fromisoformat`` also reads ``20240301`` and week dates.
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _iso_day(value: object) -> date | None:
    if not isinstance(value, str) or not _ISO_DAY.fullmatch(value.strip()):
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:  # 2024-02-30: the right shape, not a day
        return None


def clean_day(value: object) -> date:
    """``value`` (a date or ``YYYY-MM-DD``) as a date within the plausible range, or ValueError.

    The bulk paths (the batch endpoint, the usage importers) skip ``full_clean()``, so they read
    the day here: a day outside ``OPSITE_PLAUSIBLE_DATES`` is refused like the model's validator
    refuses it (docs/architecture.md "One write path"), before it can reach a rollup.
    """
    # A datetime is refused rather than truncated: which day it means depends on a timezone.
    if isinstance(value, datetime):
        raise ValueError(f"{value.isoformat()!r} is a date and time; give the day (YYYY-MM-DD).")
    day = value if isinstance(value, date) else _iso_day(value)
    if day is None:
        raise ValueError(f"{shown(value)} is not a date (YYYY-MM-DD).")
    if not is_plausible(day):
        raise ValueError(implausible_message(day))
    return day


# The largest value an ``integer`` column holds on PostgreSQL: anything above is a database
# error there (a 500), so the upsert, which skips ``full_clean()``, refuses it itself.
MAX_ACTIVE_USERS = 2**31 - 1


NOT_A_COUNT = "is not a number of users (a whole number, 0 or more)."


def clean_count(value: object, *, refusal: str = NOT_A_COUNT) -> int:
    """``value`` as a number of users: a whole number from 0 to :data:`MAX_ACTIVE_USERS`.

    Text must be ASCII digits (``opsite.core.parsing.parse_integer``, bounded in length before
    any conversion): "٣", "²", "1,500", "12.0", "1e999999999" and "-4" are refused, never read
    as something else and never turned into a billion-digit number. ``refusal`` ends the
    message, after the value: each importer words it for its own readers.
    """
    if isinstance(value, bool):  # bool is an int subclass; True users is a bug upstream
        raise ValueError(f"{value!r} is not a number of users.")
    try:
        number = parse_integer(value)
    except ValueError:
        raise ValueError(f"{shown(value)} {refusal}") from None
    if number < 0:
        raise ValueError(f"{shown(value)} {refusal}")
    if number > MAX_ACTIVE_USERS:
        raise ValueError(f"{shown(number)} is more users than can be stored (at most {MAX_ACTIVE_USERS}).")
    return number


ACTIVE_USER_COUNT_ROW = ("hub", "date", "period", "active_users")


@transaction.atomic
def active_user_counts_upsert(*, rows: Iterable[Mapping[str, Any]], recompute: bool = True) -> UpsertResult:
    """Insert or update many ``ActiveUserCount`` rows by (hub, date, period), all or nothing.

    Each row is a mapping with ``hub`` (a :class:`Hub` or its slug), ``date`` (a date or
    ``YYYY-MM-DD``), ``period`` (``24h``, ``7d``, ``30d``) and ``active_users`` (a whole number,
    0 or more). Every row is checked before anything is written; any bad row raises a
    ``ValidationError`` keyed by field whose messages name the row's index in ``rows``
    (0-based) and the reason, and nothing is written. A row repeating another's
    (hub, date, period) is refused too, since which one should win is unknowable.

    Costs three statements whatever the size (hubs, existing rows, one batched insert): the
    GitHub/Prometheus importers and the API batch mode send thousands of rows.

    A bulk insert sends no signal, so when anything was written the rollup recompute is asked
    for here (once per transaction). The usage importer passes ``recompute=False`` and asks once
    per run instead, after every cluster's own transaction.
    """
    rows = list(rows)
    errors: dict[str, list[str]] = defaultdict(list)

    # PostgreSQL refuses a NUL character in text outright (a database error, not a mismatch),
    # so a slug holding one is never looked up: the row is refused below instead.
    slugs = {
        row["hub"]
        for row in rows
        if isinstance(row, Mapping) and isinstance(row.get("hub"), str) and "\x00" not in row["hub"]
    }
    hubs_by_slug = {h.slug: h for h in Hub.objects.filter(slug__in=slugs).only("id", "slug")} if slugs else {}

    parsed: dict[tuple[int, date, str], tuple[int, int]] = {}  # key -> (row index, users)
    for index, row in enumerate(rows):
        if not isinstance(row, Mapping):
            errors["rows"].append(f"row {index}: expected an object with hub, date, period, active_users.")
            continue
        unknown = sorted(str(name) for name in row if name not in ACTIVE_USER_COUNT_ROW)
        for name in unknown[:5]:
            # A misspelt field ("users") would otherwise be dropped without a word.
            errors[name if name.isidentifier() and len(name) <= 40 else "rows"].append(
                f"row {index}: unknown field {shown(name)}; a row has {', '.join(ACTIVE_USER_COUNT_ROW)}."
            )
        missing = [f for f in ACTIVE_USER_COUNT_ROW if row.get(f) in (None, "")]
        for field in missing:
            errors[field].append(f"row {index}: {field} is required.")
        nul = [f for f in ACTIVE_USER_COUNT_ROW if isinstance(row.get(f), str) and "\x00" in row[f]]
        if nul:
            for field in nul:
                errors[field].append(f"row {index}: {field} contains a NUL character (\\x00).")
            continue

        hub_id = None
        hub = row.get("hub")
        if isinstance(hub, Hub) and hub.pk is not None:
            hub_id = hub.pk
        elif isinstance(hub, str) and hub:
            found = hubs_by_slug.get(hub)
            if found is None:
                errors["hub"].append(f"row {index}: no hub with slug {shown(hub)}.")
            else:
                hub_id = found.pk
        elif "hub" not in missing:
            errors["hub"].append(f"row {index}: {shown(hub)} is not a hub slug.")

        day = None
        if "date" not in missing:
            try:
                day = clean_day(row["date"])
            except ValueError as exc:
                errors["date"].append(f"row {index}: {exc}")

        period = row.get("period")
        if "period" not in missing and (not isinstance(period, str) or period not in _PERIODS):
            errors["period"].append(
                f"row {index}: {shown(period)} is not a period; use one of {_PERIOD_LIST}."
            )
            period = None

        users = None
        if "active_users" not in missing:
            try:
                users = clean_count(row["active_users"])
            except ValueError as exc:
                errors["active_users"].append(f"row {index}: {exc}")

        if hub_id is None or day is None or period is None or users is None:
            continue
        key = (hub_id, day, period)
        if key in parsed:
            first = parsed[key][0]
            slug = hub.slug if isinstance(hub, Hub) else hub
            errors["rows"].append(
                f"row {index}: repeats row {first} (hub {slug}, {day.isoformat()}, {period})."
            )
            continue
        parsed[key] = (index, users)

    if errors:
        raise ValidationError(dict(errors))
    if not parsed:
        return UpsertResult(created=0, updated=0, unchanged=0)

    days = [day for _, day, _ in parsed]
    existing = {
        (hub_id, day, period): users
        for hub_id, day, period, users in ActiveUserCount.objects.filter(
            hub_id__in={hub_id for hub_id, _, _ in parsed},
            date__range=(min(days), max(days)),
            period__in={period for _, _, period in parsed},
        ).values_list("hub_id", "date", "period", "active_users")
    }
    to_write = [
        ActiveUserCount(hub_id=hub_id, date=day, period=period, active_users=users)
        for (hub_id, day, period), (_, users) in parsed.items()
        if existing.get((hub_id, day, period)) != users
    ]
    created = sum(1 for key in parsed if key not in existing)
    if to_write:
        # ON CONFLICT DO UPDATE rather than read-then-write: an importer racing another one
        # for the same samples converges instead of failing on the unique constraint.
        ActiveUserCount.objects.bulk_create(
            to_write,
            batch_size=UPSERT_BATCH_SIZE,
            update_conflicts=True,
            unique_fields=["hub", "date", "period"],
            update_fields=["active_users", "updated_at"],
        )
        if recompute:
            request_recompute_for(ActiveUserCount)
    return UpsertResult(
        created=created, updated=len(to_write) - created, unchanged=len(parsed) - len(to_write)
    )


# --- the usage importer's sources and figures -----------------------------------------------


@transaction.atomic
def prometheus_source_create(
    *,
    cluster: str,
    url: str,
    auth: str = PrometheusSource.Auth.NONE,
    username: str = "",
    secret_env: str = "",
    hub_label: str = "namespace",
    hub_mapping: dict[str, str] | None = None,
    enabled: bool = True,
) -> PrometheusSource:
    """Say where a cluster's Prometheus answers; ``secret_env`` names a variable, never a secret."""
    source = PrometheusSource(
        cluster=cluster,
        url=url,
        auth=auth,
        username=username,
        secret_env=secret_env,
        hub_label=hub_label,
        hub_mapping={} if hub_mapping is None else hub_mapping,
        enabled=enabled,
    )
    source.full_clean()
    source.save()
    return source


@transaction.atomic
def prometheus_source_update(
    *, prometheus_source: PrometheusSource, data: Mapping[str, Any]
) -> PrometheusSource:
    assign(prometheus_source, data, PROMETHEUS_SOURCE_FIELDS)
    prometheus_source.full_clean()
    prometheus_source.save()
    return prometheus_source


@transaction.atomic
def cluster_usage_create(*, cluster: str, date: date, unique_users: int) -> ClusterUsage:
    """Record one cluster's unique users; the usage importer upserts many at once."""
    usage = ClusterUsage(cluster=cluster, date=date, unique_users=unique_users)
    usage.full_clean()
    usage.save()
    return usage


@transaction.atomic
def cluster_usage_update(*, cluster_usage: ClusterUsage, data: Mapping[str, Any]) -> ClusterUsage:
    assign(cluster_usage, data, CLUSTER_USAGE_FIELDS)
    cluster_usage.full_clean()
    cluster_usage.save()
    return cluster_usage


# --- what every door writes through (docs/adding-a-model.md, step 3) ------------------------
# No model here has a rule across rows, so none has a ``validate``: each row's own checks are
# its model's ``clean()``, which ``full_clean()`` runs at every door. Deleting has no rule beyond
# the database's (a community with hubs is protected), so the kernel's delete serves.

NETWORK_WRITES = ModelWrites(
    model=Network, create=network_create, update=network_update, fields=NETWORK_FIELDS
)
COMMUNITY_WRITES = ModelWrites(
    model=Community, create=community_create, update=community_update, fields=COMMUNITY_FIELDS
)
HUB_WRITES = ModelWrites(model=Hub, create=hub_create, update=hub_update, fields=HUB_FIELDS)
ACTIVE_USER_COUNT_WRITES = ModelWrites(
    model=ActiveUserCount,
    create=active_user_count_create,
    update=active_user_count_update,
    fields=ACTIVE_USER_COUNT_FIELDS | ACTIVE_USER_COUNT_IDENTITY,
)
PROMETHEUS_SOURCE_WRITES = ModelWrites(
    model=PrometheusSource,
    create=prometheus_source_create,
    update=prometheus_source_update,
    fields=PROMETHEUS_SOURCE_FIELDS,
)
CLUSTER_USAGE_WRITES = ModelWrites(
    model=ClusterUsage, create=cluster_usage_create, update=cluster_usage_update, fields=CLUSTER_USAGE_FIELDS
)
