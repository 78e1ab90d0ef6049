"""The demo organization that ``manage.py load_demo`` builds.

It is shaped like the public reports of a small open-infrastructure nonprofit (see docs/definitions.md):
about 105 active communities at the end of 2024 and 70 at the end of 2023, a third of them
historically marginalized, a regional network in Latin America and Africa, month-end usage with an
academic-calendar rhythm, a team growing from 2 to 12, a few thousand upstream pull requests, and
grants and contracts worth about $5.6M over 2021-2023 with a pipeline for the runway.

That history (2021-2024) is fixed. A load for a given ``today`` continues it to the last month-end
before that day (:func:`opsite.demo.dates.demo_end`): the team hires, leaves and gets raises,
communities join and leave, usage and pull requests go on, contracts renew (a few priced on usage)
and cloud bills are passed through (:mod:`opsite.demo.revenue`), grant applications are decided,
some customers and funders pay late (:mod:`opsite.demo.collecting`), costs rise, and the bank
balance is kept month by month with the runway the engine computed each month-end (the forecast
history; see :mod:`opsite.demo.forecasts`). Every cluster has daily cloud costs for the two years up
to that month-end (:mod:`opsite.demo.costs`).

Deterministic: every section draws from its own seeded ``random.Random`` (later years and months
from streams of their own), so a load for the same ``today`` gives the same rows on every machine,
and the figures of 2021-2024 do not depend on ``today`` at all. Nor on the settings: the demo
organization's fiscal sponsor keeps 15% of its revenue from 2025 (``later.FISCAL_SPONSOR_FEE``, in
its bank balance and in the runways it raises money by) whatever ``OPSITE_FISCAL_SPONSOR_FEE``
gives the site's own runway. The rows are computed first, without reading the database, then
written.

Idempotent: a row is inserted only when its natural key is missing (:mod:`opsite.demo.writing`).
Children (a contract's payments, a grant's disbursements and subawards, a subaward's payments) are
inserted only with a parent inserted in the same run, so a second run can never push a schedule
past its parent's amount. A load for a later day therefore adds the months since, but leaves the
rows already there as they were (a payment open then stays open): for a demo wholly current, load
it into an empty database.

Fast: the columns that ``save()`` would derive are set here: a community's through
``community_derive``, a pull request's ``author`` and ``is_bot`` from a map of staff handles built
once (one query, not one per pull request).
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from decimal import Decimal

from django.db import transaction

from communities.models import ActiveUserCount, CloudCost, Community, CostSource, Hub, Network
from contracts.models import ContractPayment, ServiceContract, UsageFeeSchedule
from contributions.models import PullRequest, Repository, UpstreamCommunity
from funding.models import (
    CashPosition,
    Disbursement,
    ExchangeRate,
    Expense,
    Funder,
    Grant,
    RunwaySnapshot,
    Scenario,
    ScenarioAdjustment,
    Subaward,
    SubawardPayment,
)
from opsite.core.recompute import ROLLUPS, RUNWAY, request_recompute
from opsite.kpis.demo_stories import load_demo_stories
from staff.models import Compensation, StaffMember

from . import data, later
from .communities import Sample, community_specs, rng, show_on, usage_samples
from .contracts import contract_plans
from .contributions import pull_requests
from .costs import CURRENCY, cost_rows, cost_sources
from .dates import HISTORY_END, demo_end
from .forecasts import Forecast, keep_books
from .ledger import Books
from .people import team
from .plans import ContractPlan
from .restricted import build_restricted, expense_grant, purpose_of
from .writing import Writer

# The day the tests load the demo for: its last month-end is 2026-11-30.
DEMO_TODAY = date(2026, 12, 3)
CASH_NOTE = "Bank balance from the books, reconciled."


class DemoBuilder:
    """Computes the demo rows as they stand at the end of ``end`` and inserts the missing ones."""

    def __init__(self, *, today: date) -> None:
        self.end = demo_end(today)
        self.writer = Writer()

    @property
    def created(self) -> Counter[str]:
        return self.writer.created

    def build(self) -> Counter[str]:
        specs = community_specs(self.end)
        contracts = contract_plans(specs, self.end)
        self.specs = show_on(specs, self.end)
        people = team(self.end)
        books, forecasts = keep_books(people, contracts, self.end)
        self.build_staff(people)
        self.build_communities()
        self.build_stories()
        samples = self.build_usage(specs)
        self.build_costs(samples, contracts)
        self.build_contributions(people)
        self.build_funding(books, forecasts)
        self.build_contracts(books.contracts)
        build_restricted(self.writer, end=self.end)
        return self.created

    # --- staff ---------------------------------------------------------------------------
    def build_staff(self, people) -> None:
        self.writer.ensure(StaffMember, [person.staff_member(self.end) for person in people], ("slug",))
        staff = self.writer.by(StaffMember, "slug")
        pay = [row for person in people for row in person.compensations(staff[person.slug], self.end)]
        self.writer.ensure(Compensation, pay, ("staff_id", "effective_on"), history=True)

    # --- communities and hubs ----------------------------------------------------------------
    def build_communities(self) -> None:
        network = Network(slug=data.NETWORK[0], name=data.NETWORK[1])
        self.writer.ensure(Network, [network], ("slug",))
        self.writer.ensure(Community, [s.community for s in self.specs], ("slug",))
        communities = self.writer.by(Community, "slug")
        network_id = Network.objects.get(slug=data.NETWORK[0]).pk
        through = Community.networks.through
        members = [
            through(community_id=communities[s.community.slug].pk, network_id=network_id)
            for s in self.specs
            if s.network
        ]
        self.writer.ensure(through, members, ("community_id", "network_id"))
        hubs = []
        for spec in self.specs:
            for hub in spec.hubs:
                hub.community = communities[spec.community.slug]
                hubs.append(hub)
        self.writer.ensure(Hub, hubs, ("slug",))

    def build_stories(self) -> None:
        """The impact stories (``opsite.kpis.demo_stories``), about communities of the history."""
        history = Community.objects.filter(joined_on__lte=HISTORY_END)
        self.created["kpis.ImpactStory"] += load_demo_stories(history)

    def build_usage(self, specs) -> list[Sample]:
        samples = usage_samples(specs, self.end)
        hub_ids = dict(Hub.objects.values_list("slug", "pk"))
        rows = [
            {"hub_id": hub_ids[slug], "date": day, "period": period, "active_users": users}
            for slug, day, period, users in samples
        ]
        self.writer.ensure_plain(ActiveUserCount, rows, ("hub_id", "date", "period"))
        return samples

    def build_costs(self, samples: list[Sample], contracts: list[ContractPlan]) -> None:
        """Each cluster's cost-monitoring source and its daily costs (:mod:`opsite.demo.costs`)."""
        self.writer.ensure(CostSource, cost_sources(self.specs), ("cluster",))
        hub_ids = dict(Hub.objects.values_list("slug", "pk"))
        rows = [
            {
                "date": day,
                "cluster": cluster,
                "hub_id": hub_ids[hub] if hub else None,
                "component": component,
                "amount": amount,
                "currency": CURRENCY,
            }
            for day, cluster, hub, component, amount in cost_rows(self.specs, samples, contracts, self.end)
        ]
        self.writer.ensure_plain(CloudCost, rows, ("date", "cluster", "hub_id", "component"))

    # --- contributions -----------------------------------------------------------------------
    def build_contributions(self, people) -> None:
        stream = rng("contributions")
        upstream = [
            UpstreamCommunity(slug=slug, name=name, github_orgs=list(orgs), is_key=is_key)
            for slug, name, orgs, is_key in data.UPSTREAM
        ]
        self.writer.ensure(UpstreamCommunity, upstream, ("slug",))
        by_org = {org: u.slug for u in upstream for org in u.github_orgs}
        names = data.repository_names(stream)
        communities = self.writer.by(UpstreamCommunity, "slug")
        repos = [
            Repository(full_name=name, upstream_community=communities.get(by_org.get(name.split("/")[0])))
            for name in names
        ]
        self.writer.ensure(Repository, repos, ("full_name",))
        key_orgs = {org for _slug, _name, orgs, is_key in data.UPSTREAM if is_key for org in orgs}
        key_repos = [n for n in names if n.split("/")[0] in key_orgs]
        other_repos = [n for n in names if n.split("/")[0] not in key_orgs]
        history, weights = data.pull_request_specs(stream, key_repos, other_repos)
        specs = pull_requests(history, weights, key_repos, other_repos, people, self.end)
        staff = {m.github.lower(): m.pk for m in StaffMember.objects.exclude(github=None)}
        stored = dict(Repository.objects.values_list("full_name", "pk"))
        rows = [
            {
                "repository_id": stored[s.repo],
                "number": s.number,
                "title": s.title,
                "url": f"https://github.com/{s.repo}/pull/{s.number}",
                "author_login": s.login,
                "author_id": staff.get(s.login.lower()),
                "created_at": s.created_at,
                "merged_at": s.merged_at,
                "is_bot": s.login.endswith("[bot]"),
            }
            for s in specs
        ]
        self.writer.ensure_plain(PullRequest, rows, ("repository_id", "number"))

    # --- funding -----------------------------------------------------------------------------
    def build_funding(self, books: Books, forecasts: list[Forecast]) -> None:
        end, ensure = self.end, self.writer.ensure
        ensure(
            ExchangeRate,
            [ExchangeRate(currency=c, effective_on=d, rate=r) for c, d, r in books.rates if d <= end],
            ("currency", "effective_on"),
        )
        funders = [*data.FUNDERS, *later.LATER_FUNDERS]
        ensure(Funder, [Funder(slug=slug, name=name, kind=kind) for slug, name, kind in funders], ("slug",))
        funder = self.writer.by(Funder, "slug")
        shown = [(plan, plan.state_on(end)) for plan in books.grants]
        grants = [
            Grant(
                reference=plan.reference,
                funder=funder[plan.funder],
                title=plan.title,
                category=plan.category,
                role=plan.role,
                status=state[0],
                probability=state[1],
                amount=plan.amount,
                currency=plan.currency,
                awarded_on=plan.awarded_on if state[0] in ("awarded", "closed") else None,
                start_on=plan.start_on,
                end_on=plan.end_on,
                restricted=plan.restricted,
                purpose=purpose_of(plan.reference, plan.title, plan.restricted),
            )
            for plan, state in shown
            if state is not None
        ]
        new = {g.reference: g for g in ensure(Grant, grants, ("reference",), history=True)}
        disbursements, subawards, payments = [], [], []
        for plan in books.grants:
            if plan.reference not in new:
                continue
            for row in plan.disbursements:
                if row.shown_on > end:
                    continue  # not on the schedule yet
                disbursements.append(
                    Disbursement(
                        grant=new[plan.reference],
                        expected_on=row.due_on,
                        amount=row.amount,
                        received_on=row.settled_by(end),
                    )
                )
            for sub in plan.subawards:
                subawards.append(
                    Subaward(
                        grant=new[plan.reference],
                        reference=sub.reference,
                        recipient=sub.recipient,
                        amount=sub.amount,
                        start_on=sub.start_on,
                        end_on=sub.end_on,
                    )
                )
        ensure(Disbursement, disbursements, ("grant_id", "expected_on"), history=True)
        plans = {sub.reference: sub for plan in books.grants for sub in plan.subawards}
        for subaward in ensure(Subaward, subawards, ("reference",), history=True):
            for row in plans[subaward.reference].payments:
                payments.append(
                    SubawardPayment(
                        subaward=subaward, due_on=row.due_on, amount=row.amount, paid_on=row.settled_by(end)
                    )
                )
        ensure(SubawardPayment, payments, ("subaward_id", "due_on"), history=True)
        cash = [
            CashPosition(as_of=day, balance=balance, note=CASH_NOTE) for day, balance in books.cash.items()
        ]
        ensure(CashPosition, cash, ("as_of",), history=True)
        grant_by_reference = self.writer.by(Grant, "reference")
        expenses = [
            Expense(
                grant=expense_grant(e.name, e.start_on, grant_by_reference),
                name=e.name,
                category=e.category,
                amount=e.amount,
                recurrence=e.recurrence,
                start_on=e.start_on,
                end_on=e.end_on_by(end),
            )
            for e in books.expenses
            if e.shown_on <= end
        ]
        ensure(Expense, expenses, ("name", "start_on"))
        self.build_scenarios(books)
        scenario = self.writer.by(Scenario, "slug")
        snapshots = [
            RunwaySnapshot(
                scenario=scenario[f.scenario],
                as_of=f.result.as_of,
                computed_at=f.computed_at,
                months=f.result.months,
                cash_out_on=f.result.cash_out_on,
                result={"scenario": f.scenario, **f.result.as_dict()},
            )
            for f in forecasts
        ]
        ensure(RunwaySnapshot, snapshots, ("scenario_id", "computed_at"))

    def build_scenarios(self, books: Books) -> None:
        # The funding migration may already have made these; the demo only fills a gap.
        has_default = Scenario.objects.filter(is_default=True).exists()
        year = self.end.year + 1
        rows = [*data.SCENARIOS[:3], (f"grow-{year}", f"Grow the SRE team in {year}", "weighted")]
        scenarios = [
            Scenario(slug=slug, name=name, pipeline=pipeline, is_default=(slug == "base" and not has_default))
            for slug, name, pipeline in rows
        ]
        self.writer.ensure(Scenario, scenarios, ("slug",))
        grow = Scenario.objects.get(slug=f"grow-{year}")
        salary = Decimal(round(later.GROWTH_HIRE_SALARY * 1.04 ** (year - 2025), -3))
        adjustments = [
            ScenarioAdjustment(
                scenario=grow,
                kind="hire",
                label="Senior site reliability engineer",
                amount=salary,
                benefits_rate=Decimal("0.25"),
                recurrence="annual_salary",
                start_on=date(year, 4, 1),
            )
        ]
        delayed = self.delayed_grant(books)
        if delayed:
            plan, first = delayed
            grant = Grant.objects.get(reference=plan.reference)
            adjustments.append(
                ScenarioAdjustment(
                    scenario=grow,
                    kind="delay",
                    label=f"{plan.title} arrives a quarter late"[:200],
                    amount=Decimal(0),
                    benefits_rate=Decimal(0),
                    recurrence="once",
                    start_on=first,
                    grant=grant,
                    months=3,
                )
            )
        self.writer.ensure(ScenarioAdjustment, adjustments, ("scenario_id", "label"))

    def delayed_grant(self, books: Books):
        """The grant a slower funder would hurt most: the next submitted (else awarded) money."""
        for statuses in (("submitted",), ("awarded",)):
            candidates = []
            for plan in books.grants:
                state = plan.state_on(self.end)
                open_rows = [
                    row.due_on
                    for row in plan.disbursements
                    if row.due_on > self.end and row.shown_on <= self.end and not row.settled_by(self.end)
                ]
                if state and state[0] in statuses and open_rows:
                    candidates.append((min(open_rows), plan.reference, plan))
            if candidates:
                first, _, plan = min(candidates)
                return plan, first
        return None

    # --- contracts ---------------------------------------------------------------------------
    def build_contracts(self, plans: list[ContractPlan]) -> None:
        end = self.end
        communities = self.writer.by(Community, "slug")
        # The usage fee schedules the contracts migration made (the demo prices on its copy of them).
        schedules = self.writer.by(UsageFeeSchedule, "slug")
        contracts = []
        for plan in plans:
            status = plan.status_on(end)
            contracts.append(
                ServiceContract(
                    reference=plan.reference,
                    community=communities[plan.community],
                    category=plan.category,
                    status=status,
                    probability=plan.probability_on(status),
                    signed_on=plan.signed_on if plan.signed_on and plan.signed_on <= end else None,
                    start_on=plan.start_on,
                    end_on=plan.end_on,
                    total_value=plan.value,
                    usage_fee_schedule=schedules[plan.usage_schedule] if plan.usage_schedule else None,
                )
            )
        new = {
            c.reference: c
            for c in self.writer.ensure(ServiceContract, contracts, ("reference",), history=True)
        }
        payments = [
            ContractPayment(
                contract=new[plan.reference],
                due_on=row.due_on,
                amount=row.amount,
                paid_on=row.settled_by(end),
            )
            for plan in plans
            if plan.reference in new and plan.status_on(end) != "declined"
            for row in plan.payments
        ]
        self.writer.ensure(ContractPayment, payments, ("contract_id", "due_on"), history=True)


@transaction.atomic
def demo_load(*, today: date) -> Counter[str]:
    """Build the demo organization as of ``today``; return how many rows of each model were inserted.

    The demo ends on the last month-end before ``today`` (never before 2024-12-31). Bulk inserts
    send no signals, so the rollups and the runway are asked for here, once; they are computed
    after the commit.
    """
    created = DemoBuilder(today=today).build()
    if sum(created.values()):
        request_recompute(ROLLUPS, RUNWAY)
    return created
