"""The demo organization that ``manage.py load_demo`` builds.

It is shaped like the public reports of a small open-infrastructure nonprofit (see docs/definitions.md):
about 105 active communities at the end of 2024 and 70 at the end of 2023, a third of them
historically marginalized, a regional network in Latin America and Africa, month-end usage with an
academic-calendar rhythm, a team growing from 2 to 12, a few thousand upstream pull requests, and
grants and contracts worth about $5.6M over 2021-2023 with a pipeline for the runway.

Deterministic: each section draws from its own seeded ``random.Random`` and every date is fixed
(never relative to today), so every install shows the same figures and the tests can pin them.
The rows are computed first, without reading the database, then written.

Idempotent: a row is inserted only when its natural key is missing, and existing rows, including
ones an operator has edited since, are left alone. Children (a contract's payments, a grant's
disbursements and subawards, a subaward's payments) are inserted only with a parent inserted in
the same run, so a second run can never push a schedule past its parent's amount.

Fast: everything goes through ``bulk_create``, which bypasses ``save()``. The columns that
``save()`` would derive are set here: a community's through ``community_derive``, a pull
request's ``author`` and ``is_bot`` from a map of staff handles built once (one query, not one
per pull request).
"""

from __future__ import annotations

import calendar
import random
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal

from dateutil.relativedelta import relativedelta
from django.db import models, transaction
from django.utils.text import slugify
from simple_history.utils import bulk_create_with_history

from communities.models import ActiveUserCount, Community, Hub, Network
from communities.services import community_derive
from contracts.models import ContractPayment, ServiceContract
from contributions.models import PullRequest, Repository, UpstreamCommunity
from funding.models import (
    CashPosition,
    Disbursement,
    ExchangeRate,
    Expense,
    Funder,
    Grant,
    Scenario,
    ScenarioAdjustment,
    Subaward,
    SubawardPayment,
)
from opsite.core.money import CENT
from opsite.core.recompute import ROLLUPS, RUNWAY, request_recompute
from staff.models import Compensation, StaffMember

from . import data

SEED = 2021
AS_OF = date(2024, 12, 31)
FIRST_MONTH = date(2021, 1, 1)
BATCH = 1000
# Funding awarded (grants) plus signed (contracts) with a date in 2021-2023, in USD.
FUNDING_TARGET_2021_2023 = Decimal("5600000")
# Monthly active users (30d, live non-binder hubs) the usage series is scaled to.
MAU_TARGETS = {date(2023, 12, 31): 7200, date(2024, 12, 31): 9100}
CHANGE_REASON = "Loaded by load_demo"


def _d(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def month_ends(start: date, end: date) -> list[date]:
    """The last day of every month from ``start``'s month to ``end``'s, both included."""
    found, cursor = [], _month_end(start)
    while cursor <= end:
        found.append(cursor)
        cursor = _month_end(cursor + timedelta(days=1))
    return found


def _split(total: Decimal, count: int) -> list[Decimal]:
    """``count`` parts of ``total``, the rounding cents on the last one (as the services do)."""
    part = (total / count).quantize(CENT, rounding=ROUND_DOWN)
    return [part] * (count - 1) + [total - part * (count - 1)]


@dataclass
class _CommunitySpec:
    community: Community
    network: bool
    hubs: list[Hub]
    base_users: int


class DemoBuilder:
    """Computes the demo rows and inserts the missing ones; ``created`` counts them by model."""

    def __init__(self) -> None:
        self.created: Counter[str] = Counter()

    def rng(self, section: str) -> random.Random:
        # One stream per section, so that changing one section never shifts another's numbers.
        return random.Random(f"{SEED}-{section}")

    def ensure(self, model: type[models.Model], objs: list, key: tuple[str, ...], *, history: bool = False):
        """Insert the objects whose natural ``key`` is not in the table yet; return those inserted."""
        present = set(model._default_manager.values_list(*key))
        new, seen = [], set()
        for obj in objs:
            natural_key = tuple(getattr(obj, name) for name in key)
            if natural_key not in present and natural_key not in seen:
                seen.add(natural_key)
                new.append(obj)
        if new and history:
            bulk_create_with_history(new, model, batch_size=BATCH, default_change_reason=CHANGE_REASON)
        elif new:
            model._default_manager.bulk_create(new, batch_size=BATCH)
        self.created[model._meta.label] += len(new)
        return new

    @staticmethod
    def by(model: type[models.Model], field: str) -> dict:
        return {getattr(obj, field): obj for obj in model._default_manager.all()}

    def build(self) -> Counter[str]:
        self.build_staff()
        self.build_communities()
        self.build_usage()
        self.build_contributions()
        self.build_funding()
        self.build_contracts()
        return self.created

    # --- staff ---------------------------------------------------------------------------
    def build_staff(self) -> None:
        members, pay = [], []
        fields = ("slug", "name", "github", "title", "team", "employment", "fte", "start_on", "end_on",
                  "country", "distinguished_contributor")  # fmt: skip
        for row in data.STAFF:
            values = dict(zip(fields, row, strict=False))
            values.update(
                fte=Decimal(values["fte"]), start_on=_d(values["start_on"]), end_on=_d(values["end_on"])
            )
            members.append(StaffMember(email=f"{values['slug']}@example.org", **values))
        self.ensure(StaffMember, members, ("slug",))
        staff = self.by(StaffMember, "slug")
        for slug, *_rest, benefits, raises in data.STAFF:
            for effective, salary in raises:
                pay.append(Compensation(staff=staff[slug], effective_on=_d(effective),
                                        annual_salary=Decimal(salary), benefits_rate=Decimal(benefits)))  # fmt: skip
        self.ensure(Compensation, pay, ("staff_id", "effective_on"), history=True)

    # --- communities and hubs ----------------------------------------------------------------
    def community_specs(self) -> list[_CommunitySpec]:
        """Every community with its hubs, in a fixed order (see demo_data.COHORTS)."""
        rng = self.rng("communities")
        names: set[str] = set()
        specs: list[_CommunitySpec] = []
        for cohort in data.COHORTS:
            kinds, countries = list(cohort.kinds), list(cohort.countries)
            rng.shuffle(kinds)
            rng.shuffle(countries)
            index = 0
            for year, count in cohort.per_year:
                for n in range(count):
                    kind, country = kinds[index], countries[index]
                    index += 1
                    # The first few of the first cohort were served before 2021.
                    joined_year = year - 1 if year == 2021 and n < cohort.before_2021 else year
                    joined = date(
                        joined_year, rng.choices(range(1, 13), data.JOIN_MONTH_WEIGHTS)[0], rng.randint(1, 28)
                    )
                    name = data.community_name(rng, kind, country, names)
                    community = Community(
                        slug=slugify(name)[:80],
                        name=name,
                        kind=kind,
                        country=country,
                        joined_on=joined,
                        website=f"https://{slugify(name)[:40]}.example.org",
                        marginalized_override=cohort.override,
                    )
                    community_derive(community)
                    launched = min(joined + timedelta(days=rng.randint(0, 21)), date(joined_year, 12, 31))
                    hub = self.hub(rng, community, launched, cohort.network)
                    low, high = data.BASE_USERS[kind]
                    specs.append(_CommunitySpec(community, cohort.network, [hub], rng.randint(low, high)))
        self.shape_hubs(rng, specs)
        return specs

    def hub(self, rng: random.Random, community: Community, launched: date, network: bool, **extra) -> Hub:
        provider = "gcp" if network else rng.choices(("gcp", "aws", "azure"), (55, 30, 15))[0]
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

    def shape_hubs(self, rng: random.Random, specs: list[_CommunitySpec]) -> None:
        """Daskhubs, two communities that left, one hub that moved clouds, and two binderhubs."""
        collaborations = [s for s in specs if s.community.kind == "research_collaboration" and not s.network]
        for spec in collaborations[:8]:
            hub = spec.hubs[0]
            hub.kind, hub.cluster = "daskhub", f"{hub.provider}-{spec.community.slug}"[:80]
        core = [s for s in specs if s.community.marginalized_override is None and not s.network]
        for spec, left in ((core[5], date(2022, 6, 30)), (core[30], date(2024, 6, 30))):
            spec.community.left_on = left
            spec.hubs[0].retired_on = left
        moved = core[2]
        legacy = moved.hubs[0]
        legacy.slug, legacy.name = f"{legacy.slug}-legacy"[:80], f"{legacy.name} (AWS, retired)"
        legacy.provider, legacy.cluster, legacy.retired_on = "aws", "aws-shared-us", date(2023, 6, 30)
        legacy.url = f"https://{legacy.slug[:50]}.hubs.example.org"
        moved.hubs.append(
            self.hub(rng, moved.community, date(2023, 6, 15), False, provider="gcp", cluster="gcp-shared-us")
        )
        settled = [s for s in core if s.community.left_on is None and s is not moved]
        with_binder = (
            next(
                s
                for s in settled
                if s.community.kind == "research_collaboration" and s not in collaborations[:8]
            ),
            next(s for s in settled if s.community.kind == "r1_university"),
        )
        for spec in with_binder:
            main = spec.hubs[0]
            binder = self.hub(
                rng,
                spec.community,
                main.launched_on + timedelta(days=90),
                False,
                slug=f"{main.slug}-binder"[:80],
                name=f"{spec.community.name} Binder",
                kind="binderhub",
            )
            spec.hubs.append(binder)

    def build_communities(self) -> None:
        self.specs = self.community_specs()
        network = Network(slug=data.NETWORK[0], name=data.NETWORK[1])
        self.ensure(Network, [network], ("slug",))
        self.ensure(Community, [s.community for s in self.specs], ("slug",))
        communities = self.by(Community, "slug")
        network_id = Network.objects.get(slug=data.NETWORK[0]).pk
        through = Community.networks.through
        members = [
            through(community_id=communities[s.community.slug].pk, network_id=network_id)
            for s in self.specs
            if s.network
        ]
        self.ensure(through, members, ("community_id", "network_id"))
        hubs = []
        for spec in self.specs:
            for hub in spec.hubs:
                hub.community = communities[spec.community.slug]
                hubs.append(hub)
        self.ensure(Hub, hubs, ("slug",))

    # --- usage -------------------------------------------------------------------------------
    def build_usage(self) -> None:
        """Month-end 30d/7d/24h samples; the 30d sum of live non-binder hubs hits MAU_TARGETS."""
        rng = self.rng("usage")
        months = month_ends(FIRST_MONTH, AS_OF)
        raw: dict[tuple[str, date], float] = {}
        for spec in self.specs:
            for hub in spec.hubs:
                base = rng.randint(2500, 6000) if hub.kind == "binderhub" else spec.base_users
                for month in months:
                    if month < hub.launched_on or (hub.retired_on and month >= hub.retired_on):
                        continue
                    age = (month.year - hub.launched_on.year) * 12 + month.month - hub.launched_on.month
                    ramp = min(1.0, 0.35 + 0.13 * age)
                    growth = 1 + 0.07 * age / 12
                    season = data.SEASON[month.month - 1]
                    raw[hub.slug, month] = base * ramp * growth * season * rng.uniform(0.93, 1.07)
        hubs = [hub for spec in self.specs for hub in spec.hubs]
        users_hubs = {hub.slug for hub in hubs if hub.kind != "binderhub"}
        scale = {
            day: target / sum(v for (slug, month), v in raw.items() if month == day and slug in users_hubs)
            for day, target in MAU_TARGETS.items()
        }
        first, last = scale.values()
        stored = self.by(Hub, "slug")
        rows = []
        for (slug, month), value in raw.items():
            if slug in users_hubs:
                # Scaled so the year-end totals land on target, moving smoothly through 2024.
                step = (month.month if month.year == 2024 else 0) / 12
                value *= first + (last - first) * step
            dip = month.month == 12  # late December empties the hubs
            month_users = max(1, round(value))
            week = round(month_users * rng.uniform(0.34, 0.42) * (0.75 if dip else 1))
            day_users = round(month_users * rng.uniform(0.08, 0.12) * (0.45 if dip else 1))
            hub_id = stored[slug].pk
            for period, users in (("30d", month_users), ("7d", week), ("24h", day_users)):
                rows.append(ActiveUserCount(hub_id=hub_id, date=month, period=period, active_users=users))
        self.ensure(ActiveUserCount, rows, ("hub_id", "date", "period"))

    # --- contributions -----------------------------------------------------------------------
    def build_contributions(self) -> None:
        rng = self.rng("contributions")
        upstream = [
            UpstreamCommunity(slug=slug, name=name, github_orgs=list(orgs), is_key=is_key)
            for slug, name, orgs, is_key in data.UPSTREAM
        ]
        self.ensure(UpstreamCommunity, upstream, ("slug",))
        by_org = {org: u.slug for u in upstream for org in u.github_orgs}
        names = data.repository_names(rng)
        communities = self.by(UpstreamCommunity, "slug")
        repos = [
            Repository(full_name=name, upstream_community=communities.get(by_org.get(name.split("/")[0])))
            for name in names
        ]
        self.ensure(Repository, repos, ("full_name",))
        key_orgs = {org for _slug, _name, orgs, is_key in data.UPSTREAM if is_key for org in orgs}
        key_repos = [n for n in names if n.split("/")[0] in key_orgs]
        other_repos = [n for n in names if n.split("/")[0] not in key_orgs]
        specs = data.pull_request_specs(rng, key_repos, other_repos)
        staff = {m.github.lower(): m.pk for m in StaffMember.objects.exclude(github=None)}
        stored = self.by(Repository, "full_name")
        rows = [
            PullRequest(
                repository_id=stored[s.repo].pk,
                number=s.number,
                title=s.title,
                url=f"https://github.com/{s.repo}/pull/{s.number}",
                author_login=s.login,
                author_id=staff.get(s.login.lower()),
                created_at=s.created_at,
                merged_at=s.merged_at,
                is_bot=s.login.endswith("[bot]"),
            )
            for s in specs
        ]
        self.ensure(PullRequest, rows, ("repository_id", "number"))

    # --- funding -----------------------------------------------------------------------------
    def build_funding(self) -> None:
        rates = [
            ExchangeRate(currency="EUR", effective_on=date(year, month + 1, 1), rate=Decimal(rate))
            for year, row in data.EUR_RATES.items()
            for month, rate in enumerate(row)
        ]
        self.ensure(ExchangeRate, rates, ("currency", "effective_on"))
        funders = [Funder(slug=slug, name=name, kind=kind) for slug, name, kind in data.FUNDERS]
        self.ensure(Funder, funders, ("slug",))
        funder = self.by(Funder, "slug")
        grants = []
        for g in data.GRANTS:
            values = {key: value for key, value in g.items() if key not in ("disbursements", "subawards")}
            values.update(funder=funder[g["funder"]], amount=Decimal(g["amount"]))
            values.update({key: _d(g.get(key)) for key in ("awarded_on", "start_on", "end_on")})
            grants.append(Grant(**values))
        new = {g.reference for g in self.ensure(Grant, grants, ("reference",), history=True)}
        grant = self.by(Grant, "reference")
        disbursements, subawards = [], []
        for g in data.GRANTS:
            if g["reference"] not in new:
                continue
            for expected, amount, received in g.get("disbursements", ()):
                disbursements.append(
                    Disbursement(
                        grant=grant[g["reference"]],
                        expected_on=_d(expected),
                        amount=Decimal(amount),
                        received_on=_d(received),
                    )
                )
            for sub in g.get("subawards", ()):
                values = {key: value for key, value in sub.items() if key != "payments"}
                values.update(
                    amount=Decimal(sub["amount"]), start_on=_d(sub["start_on"]), end_on=_d(sub["end_on"])
                )
                subawards.append(Subaward(grant=grant[g["reference"]], **values))
        self.ensure(Disbursement, disbursements, ("grant_id", "expected_on"), history=True)
        payments = []
        for subaward in self.ensure(Subaward, subawards, ("reference",), history=True):
            first, count, step = next(
                s["payments"]
                for g in data.GRANTS
                for s in g.get("subawards", ())
                if s["reference"] == subaward.reference
            )
            for i, amount in enumerate(_split(subaward.amount, count)):
                due = _d(first) + relativedelta(months=step * i)
                paid = due + timedelta(days=10) if due + timedelta(days=10) <= AS_OF else None
                payments.append(SubawardPayment(subaward=subaward, due_on=due, amount=amount, paid_on=paid))
        self.ensure(SubawardPayment, payments, ("subaward_id", "due_on"), history=True)
        cash = [
            CashPosition(
                as_of=_d(day), balance=Decimal(balance), note="Bank balance from the books, reconciled."
            )
            for day, balance in data.CASH_POSITIONS
        ]
        self.ensure(CashPosition, cash, ("as_of",), history=True)
        expenses = [
            Expense(
                name=name,
                category=category,
                amount=Decimal(amount),
                recurrence=recurrence,
                start_on=_d(start),
                end_on=_d(end),
            )
            for name, category, amount, recurrence, start, end in data.EXPENSES
        ]
        self.ensure(Expense, expenses, ("name", "start_on"))
        self.build_scenarios(grant)

    def build_scenarios(self, grant: dict[str, Grant]) -> None:
        # The funding migration may already have made these; the demo only fills a gap.
        has_default = Scenario.objects.filter(is_default=True).exists()
        scenarios = [
            Scenario(slug=slug, name=name, pipeline=pipeline, is_default=(slug == "base" and not has_default))
            for slug, name, pipeline in data.SCENARIOS
        ]
        self.ensure(Scenario, scenarios, ("slug",))
        scenario = self.by(Scenario, "slug")
        adjustments = []
        for slug, kind, label, amount, benefits, recurrence, start, reference, months in data.ADJUSTMENTS:
            adjustments.append(
                ScenarioAdjustment(
                    scenario=scenario[slug],
                    kind=kind,
                    label=label,
                    amount=Decimal(amount),
                    benefits_rate=Decimal(benefits),
                    recurrence=recurrence,
                    start_on=_d(start),
                    grant=grant[reference] if reference else None,
                    months=months,
                )
            )
        self.ensure(ScenarioAdjustment, adjustments, ("scenario_id", "label"))

    # --- contracts ---------------------------------------------------------------------------
    def contract_terms(self) -> list[dict]:
        """Yearly hub-service terms of 40 paying communities, plus a few one-off contracts.

        Hub-service fees are scaled so that grants awarded plus contracts signed over 2021-2023
        come to FUNDING_TARGET_2021_2023.
        """
        rng = self.rng("contracts")
        candidates = sorted(
            (s.community for s in self.specs if s.community.kind in data.PAYING_KINDS and not s.network),
            key=lambda c: c.slug,
        )
        # The community that left in 2024 paid until then: its last contract was terminated.
        leaving = [c for c in candidates if c.left_on and c.left_on.year == 2024]
        payers = leaving + rng.sample([c for c in candidates if not c.left_on], 40 - len(leaving))
        terms = []
        for community in payers:
            base = Decimal(rng.choice(data.HUB_SERVICE_VALUES))
            plan = rng.choices(("quarterly", "annual", "monthly"), (50, 25, 25))[0]
            first = (community.joined_on + relativedelta(months=1)).replace(day=1)
            for k in range(5):
                start = first + relativedelta(years=k)
                if start > date(2025, 6, 30) or (community.left_on and start > community.left_on):
                    break
                end = start + relativedelta(years=1, days=-1)
                status = "signed" if start <= AS_OF else "proposed"
                if community.left_on and end > community.left_on:
                    status = "terminated"
                terms.append(
                    {
                        "reference": f"hs-{community.slug[:60]}-{start.year}",
                        "community": community.slug,
                        "category": "hub_service",
                        "status": status,
                        "plan": plan,
                        "value": base * Decimal("1.04") ** k,
                        "probability": 100 if status != "proposed" else rng.choice((50, 70, 80, 90)),
                        "signed_on": start - timedelta(days=rng.randint(7, 45)) if start <= AS_OF else None,
                        "start_on": start,
                        "end_on": end,
                        "ends_early": community.left_on,
                    }
                )
        fixed = []
        for i, c in enumerate(data.OTHER_CONTRACTS):
            eligible = [p for p in payers if not p.left_on and p.joined_on < _d(c["start_on"])]
            fixed.append(
                {
                    **c,
                    "community": eligible[i % len(eligible)].slug,
                    "value": Decimal(c["value"]),
                    "signed_on": _d(c["signed_on"]),
                    "start_on": _d(c["start_on"]),
                    "end_on": _d(c["end_on"]),
                }
            )

        def in_window(term: dict) -> bool:
            # docs/definitions.md counts contracts whose status is ``signed``, by ``signed_on``.
            return term["status"] == "signed" and date(2021, 1, 1) <= term["signed_on"] <= date(2023, 12, 31)

        grants = sum(
            self.grant_usd(g)
            for g in data.GRANTS
            if g["status"] in ("awarded", "closed") and "2021-01-01" <= g["awarded_on"] <= "2023-12-31"
        )
        scaled = FUNDING_TARGET_2021_2023 - grants - sum(c["value"] for c in fixed if in_window(c))
        factor = scaled / sum(t["value"] for t in terms if in_window(t))
        for term in terms:
            # Fees are quoted in whole hundreds.
            term["value"] = ((term["value"] * factor) / 100).quantize(Decimal("1")) * 100 + Decimal("0.00")
        return terms + fixed

    @staticmethod
    def grant_usd(grant: dict) -> Decimal:
        """A demo grant's amount in USD at the rate in effect when it was awarded."""
        amount = Decimal(grant["amount"])
        if grant.get("currency", "USD") == "USD":
            return amount
        awarded = _d(grant["awarded_on"])
        return (amount * Decimal(data.EUR_RATES[awarded.year][awarded.month - 1])).quantize(CENT)

    def build_contracts(self) -> None:
        rng = self.rng("contract-payments")
        terms = self.contract_terms()
        communities = self.by(Community, "slug")
        contracts = [
            ServiceContract(
                reference=t["reference"],
                community=communities[t["community"]],
                category=t["category"],
                status=t["status"],
                probability=t["probability"],
                signed_on=t["signed_on"],
                start_on=t["start_on"],
                end_on=t["end_on"],
                total_value=t["value"],
            )
            for t in terms
        ]
        new = {c.reference: c for c in self.ensure(ServiceContract, contracts, ("reference",), history=True)}
        payments = []
        for term in terms:
            if term["status"] == "declined":
                continue
            count, step = data.BILLING_PLANS[term["plan"]]
            schedule = [
                (term["start_on"] + relativedelta(months=step * i), amount)
                for i, amount in enumerate(_split(term["value"], count))
            ]
            # One development contract's last milestone was never entered: "schedule incomplete".
            for due, amount in schedule[: term.get("entered", count)]:
                paid = due + timedelta(days=rng.randint(5, 40))
                ends_early = term.get("ends_early")
                if term["status"] == "proposed" or paid > AS_OF or (ends_early and due > ends_early):
                    paid = None
                if term["reference"] in new:
                    contract = new[term["reference"]]
                    payments.append(
                        ContractPayment(contract=contract, due_on=due, amount=amount, paid_on=paid)
                    )
        self.ensure(ContractPayment, payments, ("contract_id", "due_on"), history=True)


@transaction.atomic
def demo_load() -> Counter[str]:
    """Build the demo organization; return how many rows of each model were inserted.

    Bulk inserts send no signals, so the rollups and the runway are asked for here, once; they
    are computed after the commit.
    """
    created = DemoBuilder().build()
    if sum(created.values()):
        request_recompute(ROLLUPS, RUNWAY)
    return created
