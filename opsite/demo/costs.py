"""The demo's cloud costs (docs/definitions.md "Cloud costs"): two years of daily bills on every cluster.

Each cluster's bill has the shape of a JupyterHub cost-monitoring service's answer, every day:

- each live hub's own costs: ``compute``, the largest (users' servers and, on a daskhub, their Dask
  workers), follows the hub's active users (so the academic terms), the week (weekends are quiet)
  and the holidays; ``home_storage`` grows slowly with the most users the hub has had and its age;
- the cluster's own costs, which no hub owns: ``core`` (the shared nodes: hub pods, proxy,
  monitoring), and the small ones the provider does not attribute to a hub: ``networking``
  (egress through the cluster's gateway), ``object_storage`` (the cluster's untagged buckets),
  ``backup`` (snapshots of its home-directory server) and ``other`` (support: load balancer,
  logging, image registry).

**Volume.** Every hub's every component every day would be about 475,000 rows for two years: too
slow a load for a demo the tests load dozens of times. Here only compute and home storage are a
hub's (the two the margins turn on), and the small components are the cluster's, every day: about
240,000 rows for the demo of ``DEMO_TODAY``, written in the order of the table's unique index.

A hub's users on a day are read from the demo's month-end 30d samples (the very rows the loader
writes), between the month-ends around the day. The amounts are drawn as plain floats (quantities,
like the users they follow) and become money once, to the cent, in US dollars (the service's
currency). Per provider, a month of the clusters the organization pays for itself comes to about
the hosting cost of the demo's books (``data.EXPENSES``, growing by ``later.MONTHLY_GROWTH``).

**Who runs at a loss.** By the definitions, a community's margin is its signed contracts' value
recognized over their days less the cost of its hubs (their own costs plus a share of their
cluster's, in proportion). Every community without a contract runs at a loss by construction; of
the paying ones, a few do on purpose: the :data:`GPU_COURSES` history payers with the lowest
hub-service fee per expected user (a fee set for CPU notebooks) moved their machine-learning courses
to GPU nodes from :data:`GPU_FROM`, at :data:`GPU_COMPUTE` times the compute per user, and their
fee did not follow. The other payers' costs stay well under their fees. The communities that pass
their own cluster's bill through (:mod:`opsite.demo.revenue`) run large Dask pipelines: each month
of their cluster costs a little under a twelfth of the contract of its term
(:data:`PASS_THROUGH_SHARE`), so they break even, a little over.

**Deterministic, and the same whatever the day loaded.** Each cluster's month draws from a stream
of its own, and the costs cover the :data:`YEARS` years of whole months up to the demo's end: a
day's costs are those of any load that covers it (but see :func:`_pass_through_scale`), and a later
load only adds the days since. The costs read the other sections' plans and draw from no stream of
theirs, so nothing else moves; the published 2021-2024 figures count no cost.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from dateutil.relativedelta import relativedelta

from communities.models import CostSource

from .communities import CommunitySpec, Sample
from .dates import HISTORY_END, month_ends
from .plans import ContractPlan

SEED = 2021
# The window: this many years of whole months, up to the demo's end.
YEARS = 2
CURRENCY = "USD"
# A cost row: date, cluster, hub slug (None for the cluster's own costs), component, amount.
CostRow = tuple[date, str, str | None, str, Decimal]

# --- the price list (US dollars a day) ----------------------------------------------------------
# Compute per 30d active user, by hub kind (a binderhub's "users" are its sessions, short ones).
COMPUTE_PER_USER = {"basehub": 0.028, "daskhub": 0.12, "binderhub": 0.0035, "other": 0.028}
# Servers that never sleep: a hub's share of the smallest user node.
COMPUTE_FLOOR = 0.35
# What the same work costs on each cloud.
PROVIDER_PRICE = {"gcp": 1.0, "aws": 1.07, "azure": 1.1, "other": 1.0}
# Monday to Sunday: term weekdays are busy, weekends quiet (the mean is 1).
WEEKDAY = (1.12, 1.15, 1.15, 1.12, 1.0, 0.7, 0.76)
# Late December to the New Year, the hubs empty.
HOLIDAYS = ((12, 22), (1, 2))
HOLIDAY_FACTOR = 0.45
# Storage follows the most users a hub has had (its peak) and grows as people keep their files,
# by this share of it a year of the hub's age.
STORAGE_GROWTH = 0.3
# Home directories: GB of a hub, GB per user, and the price of a GB.
HOME_GB = 8.0
HOME_GB_PER_USER = 1.1
HOME_PRICE = 0.0075
# Object storage of a hub (a base and per user): scratch buckets, a daskhub's datasets, a
# binderhub's image registry.
OBJECT_STORAGE = {"basehub": (0.05, 0.001), "daskhub": (0.8, 0.01), "binderhub": (0.9, 0.0)}
# The cluster's own costs: core nodes (a shared cluster's grow with its hubs), networking (egress
# through the cluster's gateway) as a share of its compute, backup (snapshots of its home-directory
# server) as a share of its home storage, the object storage its hubs use (buckets are the
# cluster's, untagged), and support (load balancer, logging, image registry).
CORE_SHARED = {"gcp": 14.0, "aws": 16.0, "azure": 15.0, "other": 14.0}
CORE_PER_HUB = 0.35
CORE_DEDICATED = (5.0, 7.0)
NETWORKING_SHARE = 0.035
BACKUP_SHARE = 0.1
OTHER_SHARED = 3.5
OTHER_DEDICATED = 1.2

# --- the communities that run at a loss, and those that pass their bill through -----------------
GPU_COURSES = 3
GPU_FROM = date(2025, 9, 1)
GPU_COMPUTE = 6.0
# Each month of a pass-through cluster costs this share of the month's bill (a month's twelfth of
# the contract), give or take the month's own draw.
PASS_THROUGH_SHARE = (0.86, 0.96)


def rng(section: str) -> random.Random:
    # Streams of their own ("costs-..."): no other section of the demo draws from them.
    return random.Random(f"{SEED}-{section}")


def window(end: date) -> tuple[date, date]:
    """The first and last day with costs: :data:`YEARS` years of whole months up to ``end``."""
    return end + timedelta(days=1) - relativedelta(years=YEARS), end


@dataclass
class HubModel:
    slug: str
    kind: str
    provider: str
    launched_on: date
    retired_on: date | None
    # 30d active users on each month-end the hub reported.
    users: dict[date, int]
    gpu_from: date | None = None

    def live(self, day: date) -> bool:
        return self.launched_on <= day and (self.retired_on is None or day < self.retired_on)

    def live_in(self, start: date, end: date) -> bool:
        return self.launched_on <= end and (self.retired_on is None or start < self.retired_on)


@dataclass
class ClusterModel:
    name: str
    provider: str
    dedicated: bool
    hubs: list[HubModel]
    # The pass-through contracts of the community whose bill this cluster is.
    bills: list[ContractPlan] = field(default_factory=list)


def cost_sources(specs: list[CommunitySpec]) -> list[CostSource]:
    """A cost-monitoring source for each cluster of the demo's hubs, switched off.

    ``enabled`` is off: the daily import (``communities.tasks.import_cloud_costs``) asks every
    enabled source, and the demo's hosts (``*.example.org``) answer nobody, so a demo site left
    running would log a failed import a cluster a day. An operator trying the importer switches one
    on with a real URL. A dedicated cluster's service names its hubs ``prod`` and ``staging``, as
    the service's own deployments do: the mapping says which hub ``prod`` is and counts ``staging``
    as the cluster's own costs.
    """
    clusters: dict[str, set[str]] = {}
    for spec in specs:
        for hub in spec.hubs:
            clusters.setdefault(hub.cluster, set()).add(hub.slug)
    sources = []
    for cluster in sorted(clusters):
        hubs = clusters[cluster]
        mapping = {"prod": min(hubs), "staging": ""} if len(hubs) == 1 else {"staging": ""}
        sources.append(
            CostSource(
                cluster=cluster,
                url=f"https://cost-monitoring.{cluster}.example.org",
                auth=CostSource.Auth.NONE,
                hub_mapping=mapping,
                currency=CURRENCY,
                enabled=False,
            )
        )
    return sources


def gpu_communities(specs: list[CommunitySpec], plans: list[ContractPlan]) -> list[str]:
    """The :data:`GPU_COURSES` history payers on a shared cluster with the lowest first hub-service
    fee per expected user: the history alone decides, so every load picks the same ones."""
    first: dict[str, ContractPlan] = {}
    for plan in sorted(plans, key=lambda plan: plan.start_on):
        if plan.category == "hub_service" and plan.start_on <= HISTORY_END:
            first.setdefault(plan.community, plan)
    candidates = sorted(
        (first[spec.community.slug].value / spec.base_users, spec.community.slug)
        for spec in specs
        if spec.community.slug in first
        and not spec.network
        and (spec.leaves_on is None or spec.leaves_on > HISTORY_END)
        and [hub.kind for hub in spec.hubs] == ["basehub"]
    )
    return [slug for _ratio, slug in candidates[:GPU_COURSES]]


def cluster_models(
    specs: list[CommunitySpec], samples: list[Sample], plans: list[ContractPlan]
) -> list[ClusterModel]:
    """Every cluster of the demo's hubs, with the usage of each hub and what it is billed on."""
    users: dict[str, dict[date, int]] = {}
    for slug, day, period, count in samples:
        if period == "30d":
            users.setdefault(slug, {})[day] = count
    gpu = set(gpu_communities(specs, plans))
    bills: dict[str, list[ContractPlan]] = {}
    for plan in plans:
        if plan.category == "cloud" and plan.signed_on:
            bills.setdefault(plan.community, []).append(plan)
    clusters: dict[str, ClusterModel] = {}
    owners: dict[str, set[str]] = {}
    for spec in specs:
        for hub in spec.hubs:
            model = HubModel(
                slug=hub.slug,
                kind=hub.kind,
                provider=hub.provider,
                launched_on=hub.launched_on,
                retired_on=hub.retired_on,
                users=users.get(hub.slug, {}),
                gpu_from=GPU_FROM if spec.community.slug in gpu else None,
            )
            cluster = clusters.setdefault(hub.cluster, ClusterModel(hub.cluster, hub.provider, False, []))
            cluster.hubs.append(model)
            owners.setdefault(hub.cluster, set()).add(spec.community.slug)
    for name, cluster in clusters.items():
        cluster.hubs.sort(key=lambda hub: hub.slug)
        cluster.dedicated = len(owners[name]) == 1
        if cluster.dedicated:
            (owner,) = owners[name]
            cluster.bills = sorted(bills.get(owner, []), key=lambda plan: plan.start_on)
    return [clusters[name] for name in sorted(clusters)]


def cost_rows(
    specs: list[CommunitySpec], samples: list[Sample], plans: list[ContractPlan], end: date
) -> Iterator[CostRow]:
    """Every cost of every cluster, day by day, over the window ending on ``end``."""
    first, last = window(end)
    clusters = cluster_models(specs, samples, plans)
    for month in month_ends(first, last):
        # In the order of the table's unique index (day, then cluster): inserted so, the indexes'
        # pages fill one after the other instead of all at once, three times faster on SQLite.
        rows = [row for cluster in clusters for row in _month(cluster, month)]
        rows.sort(key=lambda row: row[0])
        yield from rows


def _month(cluster: ClusterModel, month: date) -> list[CostRow]:
    """A cluster's costs over the month ending on ``month``: its hubs', then its own, each day."""
    stream = rng(f"costs-{cluster.name}-{month:%Y-%m}")
    price = PROVIDER_PRICE.get(cluster.provider, 1.0)
    if cluster.dedicated:
        core_base, core_per_hub, other = stream.uniform(*CORE_DEDICATED), 0.0, OTHER_DEDICATED
    else:
        core_base, core_per_hub, other = (
            CORE_SHARED.get(cluster.provider, CORE_SHARED["other"]),
            CORE_PER_HUB,
            OTHER_SHARED,
        )
    start = month.replace(day=1)
    hubs = [_HubMonth.of(hub, start, month) for hub in cluster.hubs if hub.live_in(start, month)]
    rows: list[tuple[date, str | None, str, float]] = []
    for n in range(month.day):
        day = start + timedelta(days=n)
        busy = WEEKDAY[day.weekday()] * (HOLIDAY_FACTOR if _holiday(day) else 1.0)
        computes = homes = objects = 0.0
        live = 0
        for hub in hubs:
            if not hub.model.live(day):
                continue
            live += 1
            users = hub.before + (hub.after - hub.before) * (n + 1) / month.day
            compute = (COMPUTE_FLOOR + hub.rate * users * busy * stream.uniform(0.85, 1.15)) * price
            rows.append((day, hub.model.slug, "compute", compute))
            computes += compute
            grown = max(hub.peak, users) * (1 + (day - hub.model.launched_on).days / 365 * STORAGE_GROWTH)
            objects += hub.objects[0] + hub.objects[1] * grown
            if hub.model.kind != "binderhub":  # a binderhub keeps no home directories
                home = (HOME_GB + HOME_GB_PER_USER * grown) * HOME_PRICE * price
                rows.append((day, hub.model.slug, "home_storage", home))
                homes += home
        if live:
            core = (core_base + core_per_hub * live) * price * stream.uniform(0.96, 1.04)
            rows += [
                (day, None, "core", core),
                (day, None, "networking", computes * NETWORKING_SHARE * stream.uniform(0.7, 1.3)),
                (day, None, "object_storage", objects * price),
                (day, None, "backup", homes * BACKUP_SHARE),
                (day, None, "other", other * price * stream.uniform(0.8, 1.2)),
            ]
    scale = _pass_through_scale(stream, cluster, month, rows)
    return [
        (day, cluster.name, hub, component, _money(amount * scale)) for day, hub, component, amount in rows
    ]


@dataclass
class _HubMonth:
    """What a hub's days in a month are computed from."""

    model: HubModel
    # 30d users on the month-ends before and at the end of the month (one alone near a launch or
    # retirement); each day is between the two.
    before: float
    after: float
    # The most users of the month-ends before: the people whose files stay.
    peak: int
    rate: float
    objects: tuple[float, float]

    @classmethod
    def of(cls, hub: HubModel, start: date, month: date) -> _HubMonth:
        before = hub.users.get(start - timedelta(days=1))
        after = hub.users.get(month)
        before = before if before is not None else after or 0
        after = after if after is not None else before
        rate = COMPUTE_PER_USER.get(hub.kind, COMPUTE_PER_USER["other"])
        if hub.gpu_from and hub.gpu_from <= start:
            rate *= GPU_COMPUTE
        peak = max((users for day, users in hub.users.items() if day < month), default=0)
        objects = OBJECT_STORAGE.get(hub.kind, OBJECT_STORAGE["basehub"])
        return cls(hub, float(before), float(after), peak, rate, objects)


def _pass_through_scale(stream: random.Random, cluster: ClusterModel, month: date, rows) -> float:
    """What a pass-through cluster's month is scaled by to cost a share of the month's bill; else 1.

    The bill of a month is the contract of its term; before the first one (the demo's December 2024
    and January 2025), the first one: the community's work was already the size it was quoted on.
    The one exception to a day's costs being the same in every load: a load ending on 2024-12-31
    has no pass-through contract yet, and leaves those months as the usage alone draws them.
    """
    if not cluster.bills:
        return 1.0
    bill = next((plan for plan in cluster.bills if plan.start_on <= month <= plan.end_on), cluster.bills[0])
    target = float(bill.value) / 12 * stream.uniform(*PASS_THROUGH_SHARE)
    drawn = sum(amount for *_key, amount in rows)
    return target / drawn if drawn else 1.0


def _holiday(day: date) -> bool:
    (start_month, start_day), (end_month, end_day) = HOLIDAYS
    return (day.month, day.day) >= (start_month, start_day) or (day.month, day.day) <= (end_month, end_day)


def _money(amount: float) -> Decimal:
    # Quantities become money here, once: to the cent, never negative.
    return Decimal(f"{max(amount, 0.0):.2f}")
