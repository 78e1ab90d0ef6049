"""Reads of communities, hubs and hub usage, for the admin and the API."""

from __future__ import annotations

from datetime import date

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from .choices import UsagePeriod
from .models import ActiveUserCount, CloudCost, Community, Hub, Network


def live_hub_q(day: date, prefix: str = "") -> Q:
    """Live on ``day`` (docs/definitions.md#live-hub): launched on or before it, not yet retired.

    ``retired_on`` is the first day a hub no longer runs, hence ``>`` where launch uses ``<=``.
    ``prefix`` (e.g. ``"hubs__"``) applies the rule through a relation.
    """
    return Q(**{f"{prefix}launched_on__lte": day}) & (
        Q(**{f"{prefix}retired_on__isnull": True}) | Q(**{f"{prefix}retired_on__gt": day})
    )


def network_list() -> QuerySet[Network]:
    """Networks by name, with ``community_count``."""
    return Network.objects.annotate(community_count=Count("communities", distinct=True)).order_by(
        "name", "slug"
    )


def community_list(day: date | None = None) -> QuerySet[Community]:
    """Communities by name, networks prefetched, with ``hub_count`` and ``live_hub_count`` on
    ``day`` (today by default)."""
    day = day or timezone.localdate()
    return (
        Community.objects.prefetch_related("networks")
        .annotate(
            hub_count=Count("hubs", distinct=True),
            live_hub_count=Count("hubs", filter=live_hub_q(day, "hubs__"), distinct=True),
        )
        .order_by("name", "slug")
    )


def latest_sample_subquery(day: date, field: str, period: str = UsagePeriod.MONTH) -> Subquery:
    """A column of the hub's latest ``period`` sample on or before ``day`` (no look-back limit)."""
    return Subquery(
        ActiveUserCount.objects.filter(hub=OuterRef("pk"), period=period, date__lte=day)
        .order_by("-date")
        .values(field)[:1]
    )


def hub_list(day: date | None = None) -> QuerySet[Hub]:
    """Hubs by slug with their community, and ``latest_30d_users``/``latest_30d_on``: the latest
    30-day active-users sample on or before ``day`` (today by default; ``None`` when the hub has
    none)."""
    day = day or timezone.localdate()
    return (
        Hub.objects.select_related("community")
        .annotate(
            latest_30d_users=latest_sample_subquery(day, "active_users"),
            latest_30d_on=latest_sample_subquery(day, "date"),
        )
        .order_by("slug")
    )


def active_user_count_list() -> QuerySet[ActiveUserCount]:
    """Samples newest first within each hub, with hub and community loaded."""
    return ActiveUserCount.objects.select_related("hub", "hub__community").order_by(
        "hub__slug", "-date", "period"
    )


def cloud_cost_list() -> QuerySet[CloudCost]:
    """Cloud costs newest first, by cluster and component, with their hub loaded (or none)."""
    return CloudCost.objects.select_related("hub").order_by("-date", "cluster", "component", "id")
