"""The demo's communities, their hubs and month-end usage: the published history, then later years.

The history (communities joining 2020-2024, usage 2021-2024) draws from the streams it always drew
from, so its figures never move; each later year of communities, and each later month of usage,
draws from a stream of its own, so what a month looks like does not depend on the day the demo
is loaded for.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from django.utils.text import slugify

from communities.models import Community, Hub
from communities.services import community_derive

from . import data, later
from .dates import FIRST_MONTH, HISTORY_END, month_end, month_ends

SEED = 2021
# A usage sample: hub slug, date, period, active users.
Sample = tuple[str, date, str, int]
# Monthly active users (30d, live non-binder hubs) the history's usage is scaled to.
MAU_TARGETS = {date(2023, 12, 31): 7200, date(2024, 12, 31): 9100}


@dataclass
class CommunitySpec:
    community: Community
    network: bool
    hubs: list[Hub]
    base_users: int
    # Later communities decide when they join whether they take a hub-service contract.
    pays: bool = False
    # The day the community leaves (its hubs retire with it), when it does; shown once it is past.
    leaves_on: date | None = None


def rng(section: str) -> random.Random:
    # One stream per section, so that changing one section never shifts another's numbers.
    return random.Random(f"{SEED}-{section}")


def community_specs(until: date) -> list[CommunitySpec]:
    """Every community that joined by the end of ``until``'s year, with its hubs, in a fixed order."""
    specs = history_specs()
    names = {spec.community.name for spec in specs}
    for year in range(HISTORY_END.year + 1, until.year + 1):
        specs.extend(later_specs(year, names))
    return specs


def history_specs() -> list[CommunitySpec]:
    """The communities of the published history (see ``data.COHORTS``)."""
    stream = rng("communities")
    names: set[str] = set()
    specs: list[CommunitySpec] = []
    for cohort in data.COHORTS:
        kinds, countries = list(cohort.kinds), list(cohort.countries)
        stream.shuffle(kinds)
        stream.shuffle(countries)
        index = 0
        for year, count in cohort.per_year:
            for n in range(count):
                kind, country = kinds[index], countries[index]
                index += 1
                # The first few of the first cohort were served before 2021.
                joined_year = year - 1 if year == 2021 and n < cohort.before_2021 else year
                specs.append(
                    _spec(stream, names, kind, country, joined_year, cohort.network, cohort.override)
                )
    _shape_hubs(stream, specs)
    return specs


def later_specs(year: int, names: set[str]) -> list[CommunitySpec]:
    """The communities joining in ``year`` (after the history), from ``later.LATER_COHORTS``."""
    stream = rng(f"communities-{year}")
    specs = []
    for count, kinds, countries, network in later.LATER_COHORTS:
        for _ in range(count):
            spec = _spec(stream, names, stream.choice(kinds), stream.choice(countries), year, network, None)
            spec.pays = (
                spec.community.kind in data.PAYING_KINDS
                and not network
                and stream.random() < later.NEW_PAYERS
            )
            specs.append(spec)
    return specs


def _spec(stream, names, kind, country, joined_year, network, override) -> CommunitySpec:
    joined = date(
        joined_year, stream.choices(range(1, 13), data.JOIN_MONTH_WEIGHTS)[0], stream.randint(1, 28)
    )
    name = data.community_name(stream, kind, country, names)
    community = Community(
        slug=slugify(name)[:80],
        name=name,
        kind=kind,
        country=country,
        joined_on=joined,
        website=f"https://{slugify(name)[:40]}.example.org",
        marginalized_override=override,
    )
    community_derive(community)
    launched = min(joined + timedelta(days=stream.randint(0, 21)), date(joined_year, 12, 31))
    hub = make_hub(stream, community, launched, network)
    low, high = data.BASE_USERS[kind]
    return CommunitySpec(community, network, [hub], stream.randint(low, high))


def make_hub(stream: random.Random, community: Community, launched: date, network: bool, **extra) -> Hub:
    provider = "gcp" if network else stream.choices(("gcp", "aws", "azure"), (55, 30, 15))[0]
    if network:
        cluster = "gcp-shared-latam" if community.region == "latin_america" else "gcp-shared-africa"
    else:
        area = "us" if community.region == "north_america" else "eu"
        cluster = f"{provider}-shared-{area}"
    values = {
        "slug": community.slug,
        "name": f"{community.name} Hub",
        "provider": provider,
        "cluster": cluster,
        "kind": "basehub",
        "launched_on": launched,
        **extra,
    }
    values["url"] = f"https://{values['slug'][:50]}.hubs.example.org"
    return Hub(community=community, **values)


def _shape_hubs(stream: random.Random, specs: list[CommunitySpec]) -> None:
    """Daskhubs, two communities that left, one hub that moved clouds, and two binderhubs."""
    collaborations = [s for s in specs if s.community.kind == "research_collaboration" and not s.network]
    for spec in collaborations[:8]:
        hub = spec.hubs[0]
        hub.kind, hub.cluster = "daskhub", f"{hub.provider}-{spec.community.slug}"[:80]
    core = [s for s in specs if s.community.marginalized_override is None and not s.network]
    for spec, left in ((core[5], date(2022, 6, 30)), (core[30], date(2024, 6, 30))):
        spec.community.left_on = left
        spec.hubs[0].retired_on = left
        spec.leaves_on = left
    moved = core[2]
    legacy = moved.hubs[0]
    legacy.slug, legacy.name = f"{legacy.slug}-legacy"[:80], f"{legacy.name} (AWS, retired)"
    legacy.provider, legacy.cluster, legacy.retired_on = "aws", "aws-shared-us", date(2023, 6, 30)
    legacy.url = f"https://{legacy.slug[:50]}.hubs.example.org"
    moved.hubs.append(
        make_hub(stream, moved.community, date(2023, 6, 15), False, provider="gcp", cluster="gcp-shared-us")
    )
    settled = [s for s in core if s.community.left_on is None and s is not moved]
    with_binder = (
        next(
            s for s in settled if s.community.kind == "research_collaboration" and s not in collaborations[:8]
        ),
        next(s for s in settled if s.community.kind == "r1_university"),
    )
    for spec in with_binder:
        main = spec.hubs[0]
        binder = make_hub(
            stream,
            spec.community,
            main.launched_on + timedelta(days=90),
            False,
            slug=f"{main.slug}-binder"[:80],
            name=f"{spec.community.name} Binder",
            kind="binderhub",
        )
        spec.hubs.append(binder)


def choose_leavers(specs: list[CommunitySpec], payers: set[str], until: date) -> None:
    """A few communities without a contract stop using their hub each later year."""
    for year in range(HISTORY_END.year + 1, until.year + 1):
        stream = rng(f"leaving-{year}")
        candidates = sorted(
            (
                spec
                for spec in specs
                if not spec.network
                and spec.leaves_on is None
                and spec.community.slug not in payers
                and spec.community.joined_on < date(year - 1, 1, 1)
                and [hub.kind for hub in spec.hubs] == ["basehub"]
            ),
            key=lambda spec: spec.community.slug,
        )
        for spec in stream.sample(candidates, min(later.LEAVING_A_YEAR, len(candidates))):
            spec.leaves_on = month_end(date(year, stream.choice((6, 8, 12)), 1))


def show_on(specs: list[CommunitySpec], end: date) -> list[CommunitySpec]:
    """The communities that had joined by ``end``; a departure shows (and retires the hubs) once past."""
    shown = []
    for spec in specs:
        if spec.community.joined_on > end:
            continue
        if spec.leaves_on and spec.leaves_on <= end:
            spec.community.left_on = spec.leaves_on
            for hub in spec.hubs:
                hub.retired_on = min(hub.retired_on or spec.leaves_on, spec.leaves_on)
        shown.append(spec)
    return shown


# --- usage -----------------------------------------------------------------------------------


def _retired(hub: Hub, spec: CommunitySpec) -> date | None:
    return (
        min(day for day in (hub.retired_on, spec.leaves_on) if day)
        if hub.retired_on or spec.leaves_on
        else None
    )


def usage_samples(specs: list[CommunitySpec], end: date) -> list[Sample]:
    """Every usage sample to ``end``: the history's communities over 2021-2024, then every
    community's later months (once the leavers are chosen: a hub stops reporting when it retires)."""
    history = [spec for spec in specs if spec.community.joined_on <= HISTORY_END]
    samples, bases, scale = history_usage(history)
    return samples + later_usage(specs, bases, scale, end)


def community_users(
    specs: list[CommunitySpec], samples: list[Sample], slugs: set[str]
) -> dict[str, dict[date, int]]:
    """The monthly active users of each community of ``slugs`` on every month-end: its hubs' 30d
    samples of that day, BinderHubs left out (docs/definitions.md). A hub reports on every
    month-end it is live and on no other, so the samples of a day are those of its live hubs."""
    hubs = {
        hub.slug: spec.community.slug
        for spec in specs
        if spec.community.slug in slugs
        for hub in spec.hubs
        if hub.kind != "binderhub"
    }
    users: dict[str, dict[date, int]] = {slug: {} for slug in slugs}
    for hub, day, period, count in samples:
        if period == "30d" and hub in hubs:
            by_day = users[hubs[hub]]
            by_day[day] = by_day.get(day, 0) + count
    return users


def history_usage(specs: list[CommunitySpec]) -> tuple[list[Sample], dict[str, float], float]:
    """Month-end 30d/7d/24h samples of 2021-2024; the 30d sum of live non-binder hubs hits MAU_TARGETS.

    Returns the samples, each hub's base (its users before the seasons, the growth and the
    scaling) and the scale of the end of 2024, which the later months go on from.
    """
    stream = rng("usage")
    months = month_ends(FIRST_MONTH, HISTORY_END)
    raw: dict[tuple[str, date], float] = {}
    bases: dict[str, float] = {}
    for spec in specs:
        for hub in spec.hubs:
            base = stream.randint(2500, 6000) if hub.kind == "binderhub" else spec.base_users
            bases[hub.slug] = base
            for month in months:
                if month < hub.launched_on or (hub.retired_on and month >= hub.retired_on):
                    continue
                raw[hub.slug, month] = _users(hub, month, base) * stream.uniform(0.93, 1.07)
    users_hubs = {hub.slug for spec in specs for hub in spec.hubs if hub.kind != "binderhub"}
    scale = {
        day: target / sum(v for (slug, month), v in raw.items() if month == day and slug in users_hubs)
        for day, target in MAU_TARGETS.items()
    }
    first, last = scale.values()
    samples = []
    for (slug, month), value in raw.items():
        if slug in users_hubs:
            # Scaled so the year-end totals land on target, moving smoothly through 2024.
            step = (month.month if month.year == 2024 else 0) / 12
            value *= first + (last - first) * step
        samples.extend(_periods(stream, slug, month, value))
    return samples, bases, last


def later_usage(specs: list[CommunitySpec], bases: dict[str, float], scale: float, end: date) -> list[Sample]:
    """Month-end samples after the history, to ``end``: each month from its own stream."""
    samples = []
    for month in month_ends(HISTORY_END + timedelta(days=1), end):
        stream = rng(f"usage-{month.isoformat()}")
        for spec in specs:
            for hub in spec.hubs:
                retired = _retired(hub, spec)
                if month < hub.launched_on or (retired and month >= retired):
                    continue
                if hub.kind == "binderhub":
                    base = bases[hub.slug]
                else:
                    base = bases.get(hub.slug, spec.base_users) * scale
                value = _users(hub, month, base) * stream.uniform(0.93, 1.07)
                samples.extend(_periods(stream, hub.slug, month, value))
    return samples


def _users(hub: Hub, month: date, base: float) -> float:
    age = (month.year - hub.launched_on.year) * 12 + month.month - hub.launched_on.month
    ramp = min(1.0, 0.35 + 0.13 * age)
    growth = 1 + 0.07 * age / 12
    return base * ramp * growth * data.SEASON[month.month - 1]


def _periods(stream: random.Random, slug: str, month: date, value: float) -> list[Sample]:
    dip = month.month == 12  # late December empties the hubs
    month_users = max(1, round(value))
    week = round(month_users * stream.uniform(0.34, 0.42) * (0.75 if dip else 1))
    day_users = round(month_users * stream.uniform(0.08, 0.12) * (0.45 if dip else 1))
    return [(slug, month, "30d", month_users), (slug, month, "7d", week), (slug, month, "24h", day_users)]
