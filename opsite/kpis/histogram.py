"""How many hubs have how many users: the ``/kpis/`` page's histogram, stored by the rollups.

The active hubs on the as-of day (docs/definitions.md#active-hub), BinderHubs left out (their
counts are sessions, not users, as in the MAU), counted by their 30d active users in the bins
0-5-10-25-50-100-250-500-1k-2.5k-5k-10k (docs/definitions.md#public-website-kit): a bin holds
the hubs with at least its lower bound and fewer than its upper bound; the last, 10,000 and more.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from communities import rollups as usage_rollups
from communities.choices import HubKind

HUBS_BY_USERS = "hubs-by-users:latest"
BIN_EDGES = (0, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000)


def _label(low: int, high: int | None) -> str:
    return f"{low:,}+" if high is None else f"{low:,}–{high - 1:,}"


def histogram(users: Iterable[int]) -> list[dict[str, Any]]:
    """The bins of :data:`BIN_EDGES` with how many of ``users`` (one count per hub) fall in each."""
    bounds = [*zip(BIN_EDGES, [*BIN_EDGES[1:], None], strict=True)]
    counts = [0] * len(bounds)
    for value in users:
        for index, (low, high) in enumerate(bounds):
            if value >= low and (high is None or value < high):
                counts[index] += 1
                break
    return [
        {"from": low, "to": high, "label": _label(low, high), "hubs": count}
        for (low, high), count in zip(bounds, counts, strict=True)
    ]


def hubs_by_users(
    as_of: date,
    *,
    hubs: Sequence[usage_rollups.HubFacts] | None = None,
    users: Mapping[int, usage_rollups.HubActiveUsers] | None = None,
) -> dict[str, Any]:
    """The histogram on ``as_of``: two queries, whatever the number of hubs, or none when the
    hubs and their active users that day are given (already read by the usage rollups)."""
    hubs = usage_rollups.hub_facts() if hubs is None else hubs
    users = usage_rollups.hub_active_users([as_of])[as_of] if users is None else users
    monthly = [
        users[hub.id].monthly
        for hub in hubs
        if hub.kind != HubKind.BINDERHUB
        and hub.is_live(as_of)
        and hub.id in users
        and users[hub.id].monthly >= 1
    ]
    return {"as_of": as_of.isoformat(), "bins": histogram(monthly)}


def hubs_by_users_of_run(
    as_of: date, usage: usage_rollups.UsageRun, stored: dict[str, Any] | None
) -> dict[str, Any]:
    """The histogram on ``as_of``, from the hubs' users the usage rollups read that day; kept as
    stored when they did not need to read it again (no hub and no sample of it changed)."""
    if as_of in usage.read:
        return hubs_by_users(as_of, hubs=usage.hubs, users=usage.read[as_of])
    if stored is not None and stored.get("as_of") == as_of.isoformat():
        return stored
    return hubs_by_users(as_of)
