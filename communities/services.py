"""Writes to communities, hubs and hub usage, with the rules that guard them.

Every write path (admin, import, API, importers, demo loader) ends in these functions or in the
model's ``clean()``/``save()``, which call ``*_validate`` and :func:`community_derive` below.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from opsite.core.countries import region_for_country
from opsite.core.services import by_natural_key

from .choices import MARGINALIZED_KINDS, NON_MARGINALIZED_REGIONS, HubKind, UsagePeriod
from .models import ActiveUserCount, Community, Hub, Network

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

# Rows written per INSERT statement by the bulk upsert: well under every backend's limit on
# query parameters (SQLite's is the lowest).
UPSERT_BATCH_SIZE = 500


def _day(value: object) -> date | None:
    """``value`` if it is already a date. Fields that failed to parse are reported elsewhere."""
    return value if isinstance(value, date) else None


def _assign(instance, data: Mapping[str, Any], allowed: Iterable[str]) -> None:
    """Set ``data`` on ``instance``; an unknown field is a programming error, not bad input."""
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise TypeError(f"{type(instance).__name__} cannot be updated with {', '.join(unknown)}")
    for field, value in data.items():
        setattr(instance, field, value)


# --- derived fields -------------------------------------------------------------------------


def community_derive(community: Community) -> None:
    """Fill the derived columns of ``community`` in place (called by ``Community.save()``).

    * ``region``: from ``country`` when blank; an explicit region is kept.
    * ``historically_marginalized`` (DESIGN.md, Definitions): ``marginalized_override`` when set;
      otherwise an educational institution that is not an R1 university, or a community whose
      region is neither North America nor Western Europe.
    """
    if not community.region and community.country:
        community.region = region_for_country(community.country)
    if community.marginalized_override is not None:
        community.historically_marginalized = bool(community.marginalized_override)
    else:
        community.historically_marginalized = (
            community.kind in MARGINALIZED_KINDS or community.region not in NON_MARGINALIZED_REGIONS
        )


# --- validators (called from the models' clean()) ------------------------------------------


def community_validate(community: Community) -> None:
    """A community cannot leave before it joined."""
    joined_on, left_on = _day(community.joined_on), _day(community.left_on)
    if joined_on and left_on and left_on < joined_on:
        raise ValidationError(
            {"left_on": f"Left on {left_on.isoformat()} is before joined on {joined_on.isoformat()}."}
        )


def hub_validate(hub: Hub) -> None:
    """A hub cannot retire before it launched.

    A hub launched before its community's ``joined_on`` is allowed on purpose: pilots often run
    before the paperwork that makes a community a member.
    """
    launched_on, retired_on = _day(hub.launched_on), _day(hub.retired_on)
    if launched_on and retired_on and retired_on < launched_on:
        raise ValidationError(
            {
                "retired_on": (
                    f"Retired on {retired_on.isoformat()} is before launched on {launched_on.isoformat()}."
                )
            }
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
    _assign(network, data, NETWORK_FIELDS)
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
    community.full_clean()
    community.save()
    if network_rows:
        community.networks.set(network_rows)
    return community


@transaction.atomic
def community_update(*, community: Community, data: Mapping[str, Any]) -> Community:
    """Change the fields named in ``data`` (any of :data:`COMMUNITY_FIELDS`).

    A new ``country`` without a ``region`` re-derives the region: keeping the old one would
    silently leave a community that moved from the US to Kenya in North America.
    """
    data = dict(data)
    networks = data.pop("networks", None)
    network_rows = _networks_by_slug(networks) if networks is not None else None
    if "country" in data and "region" not in data and data["country"] != community.country:
        data["region"] = ""
    _assign(community, data, COMMUNITY_FIELDS)
    community.full_clean()
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
    _assign(hub, data, HUB_FIELDS)
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
    """Correct the number of a sample; its hub, date and period are its identity."""
    _assign(active_user_count, data, ACTIVE_USER_COUNT_FIELDS)
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


def _clean_date(value: object) -> date:
    # A datetime is refused rather than truncated: which day it means depends on a timezone.
    if isinstance(value, datetime):
        raise ValueError(f"{value.isoformat()!r} is a date and time; give the day (YYYY-MM-DD).")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(f"{value!r} is not a date (YYYY-MM-DD).")


# The largest value an ``integer`` column holds on PostgreSQL: anything above is a database
# error there (a 500), so the upsert, which skips ``full_clean()``, refuses it itself.
MAX_ACTIVE_USERS = 2**31 - 1


def _clean_active_users(value: object) -> int:
    if isinstance(value, bool):  # bool is an int subclass; True users is a bug upstream
        raise ValueError(f"{value!r} is not a number of users.")
    # isdecimal, not isdigit: "²" is a digit that int() cannot read.
    if isinstance(value, str) and value.strip().isdecimal():
        value = int(value.strip())
    if not isinstance(value, int) or value < 0:
        raise ValueError(f"{value!r} is not a number of users (a whole number, 0 or more).")
    if value > MAX_ACTIVE_USERS:
        raise ValueError(f"{value} is more users than can be stored (at most {MAX_ACTIVE_USERS}).")
    return value


@transaction.atomic
def active_user_counts_upsert(*, rows: Iterable[Mapping[str, Any]]) -> UpsertResult:
    """Insert or update many ``ActiveUserCount`` rows by (hub, date, period), all or nothing.

    Each row is a mapping with ``hub`` (a :class:`Hub` or its slug), ``date`` (a date or
    ``YYYY-MM-DD``), ``period`` (``24h``, ``7d``, ``30d``) and ``active_users`` (a whole number,
    0 or more). Every row is checked before anything is written; any bad row raises a
    ``ValidationError`` keyed by field whose messages name the row's index in ``rows``
    (0-based) and the reason, and nothing is written. A row repeating another's
    (hub, date, period) is refused too, since which one should win is unknowable.

    Costs three statements whatever the size (hubs, existing rows, one batched insert): the
    GitHub/Prometheus importers and the API batch mode send thousands of rows.
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
        missing = [f for f in ("hub", "date", "period", "active_users") if row.get(f) in (None, "")]
        for field in missing:
            errors[field].append(f"row {index}: {field} is required.")
        nul = [
            f
            for f in ("hub", "date", "period", "active_users")
            if isinstance(row.get(f), str) and "\x00" in row[f]
        ]
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
                errors["hub"].append(f"row {index}: no hub with slug {hub!r}.")
            else:
                hub_id = found.pk
        elif "hub" not in missing:
            errors["hub"].append(f"row {index}: {hub!r} is not a hub slug.")

        day = None
        if "date" not in missing:
            try:
                day = _clean_date(row["date"])
            except ValueError as exc:
                errors["date"].append(f"row {index}: {exc}")

        period = row.get("period")
        if "period" not in missing and (not isinstance(period, str) or period not in _PERIODS):
            errors["period"].append(f"row {index}: {period!r} is not a period; use one of {_PERIOD_LIST}.")
            period = None

        users = None
        if "active_users" not in missing:
            try:
                users = _clean_active_users(row["active_users"])
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
    return UpsertResult(
        created=created, updated=len(to_write) - created, unchanged=len(parsed) - len(to_write)
    )
