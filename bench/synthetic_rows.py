"""The rows of the synthetic organization of :mod:`bench.synthetic`, table by table.

Derived columns that the services would fill (``Community.region``/``historically_marginalized``,
``PullRequest.author``/``is_bot``) are set here by the same rules.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from bench.synthetic import BOTS, END, SEASON, SLUG_PREFIX, START, UPSTREAM, Size


def _money(rng: random.Random, low: int, high: int) -> Decimal:
    """A random amount with cents between ``low`` and ``high`` whole units."""
    return Decimal(rng.randrange(low * 100, high * 100)) / 100


def _day_between(rng: random.Random, first: date, last: date) -> date:
    return first + timedelta(days=rng.randrange((last - first).days + 1))


def _communities(rng: random.Random, size: Size) -> list:
    from communities.choices import MARGINALIZED_KINDS, NON_MARGINALIZED_REGIONS, CommunityKind
    from communities.models import Community
    from opsite.core.countries import COUNTRIES, region_for_country

    countries = sorted(COUNTRIES)
    kinds = [choice.value for choice in CommunityKind]
    rows = []
    for i in range(size.communities):
        kind = rng.choice(kinds)
        country = "US" if rng.random() < 0.45 else rng.choice(countries)
        region = region_for_country(country)
        override = rng.choice([True, False]) if rng.random() < 0.03 else None
        derived = kind in MARGINALIZED_KINDS or region not in NON_MARGINALIZED_REGIONS
        rows.append(
            Community(
                slug=f"{SLUG_PREFIX}community-{i}",
                name=f"Synthetic community {i}",
                kind=kind,
                country=country,
                region=region,
                joined_on=_day_between(rng, date(2019, 1, 1), date(2024, 6, 30)),
                marginalized_override=override,
                historically_marginalized=derived if override is None else override,
            )
        )
    return Community.objects.bulk_create(rows, batch_size=1000)


def _hubs(rng: random.Random, size: Size, communities: list) -> list:
    from communities.choices import HubKind, Provider
    from communities.models import Hub

    rows = []
    for i in range(size.hubs):
        # Most hubs run through the whole four years, so the usage table has its full size.
        launched = (
            _day_between(rng, date(2019, 6, 1), date(2020, 12, 31))
            if rng.random() < 0.95
            else _day_between(rng, START, date(2024, 10, 31))
        )
        # A hub launched in the last 90 days has no time left to retire in (the draw is made all
        # the same, so that every scale draws the same numbers in the same order).
        retiring = rng.random() < 0.05
        earliest = launched + timedelta(days=90)
        retired = _day_between(rng, earliest, END) if retiring and earliest <= END else None
        kind = rng.choices(
            [HubKind.BASEHUB, HubKind.DASKHUB, HubKind.BINDERHUB, HubKind.OTHER], weights=[84, 10, 3, 3]
        )[0]
        rows.append(
            Hub(
                slug=f"{SLUG_PREFIX}hub-{i}",
                community=communities[i % len(communities)],
                name=f"Synthetic hub {i}",
                cluster=f"cluster-{i % 12}",
                provider=rng.choice([Provider.GCP, Provider.AWS, Provider.AZURE]),
                kind=kind,
                launched_on=launched,
                retired_on=retired,
            )
        )
    return Hub.objects.bulk_create(rows, batch_size=1000)


def _usage(hubs: list) -> int:
    """Daily 30d/7d/24h samples of every hub from its launch (or 2021) to its retirement (or 2024)."""
    from django.db import connection

    from communities.models import ActiveUserCount

    table = ActiveUserCount._meta.db_table
    now = connection.ops.adapt_datetimefield_value(datetime(2025, 1, 1, tzinfo=UTC))
    days = [START + timedelta(days=n) for n in range((END - START).days + 1)]
    day_values = {day: connection.ops.adapt_datefield_value(day) for day in days}
    sql = (
        f"INSERT INTO {table} (created_at, updated_at, hub_id, date, period, active_users) "
        "VALUES (%s, %s, %s, %s, %s, %s)"
    )

    def rows():
        for hub in hubs:
            base = 5 + (hub.pk * 7919) % 240
            first = max(hub.launched_on, START)
            last = min(hub.retired_on - timedelta(days=1), END) if hub.retired_on else END
            # Every 50th hub reports only at month ends, as the demo does: the look-back windows
            # then matter on every other day.
            month_ends_only = hub.pk % 50 == 0
            for day in days:
                if day < first or day > last:
                    continue
                if month_ends_only and (day + timedelta(days=1)).day != 1:
                    continue
                growth = 100 + (day.year - START.year) * 15
                noise = 95 + (hub.pk * 31 + day.toordinal() * 17) % 11
                monthly = base * SEASON[day.month] * growth * noise // 1_000_000
                value = day_values[day]
                yield (now, now, hub.pk, value, "30d", monthly)
                yield (now, now, hub.pk, value, "7d", monthly * 45 // 100)
                yield (now, now, hub.pk, value, "24h", monthly * 15 // 100)

    # Rows come in (hub, date, period) order, the unique index's: it grows at its end. The
    # (period, date) index would take random inserts, so it is dropped and built once at the end.
    quote = connection.ops.quote_name
    secondary = [index for index in ActiveUserCount._meta.indexes if index.fields == ["period", "date"]]
    with connection.cursor() as cursor:
        for index in secondary:
            cursor.execute(f"DROP INDEX {quote(index.name)}")
        count = _insert(cursor, sql, rows())
        for index in secondary:
            cursor.execute(f"CREATE INDEX {quote(index.name)} ON {quote(table)} (period, date)")
    return count


def _insert(cursor, sql: str, rows, batch_size: int = 50_000) -> int:
    """Write ``rows`` with the ``INSERT`` statement ``sql``: by ``COPY`` on PostgreSQL (ten times
    faster than row by row), else by batches of ``executemany``; return how many."""
    from django.db import connection

    count = 0
    if connection.vendor == "postgresql":
        # "INSERT INTO t (a, b) VALUES (...)" -> "COPY t (a, b) FROM STDIN".
        target = sql.split("INSERT INTO ", 1)[1].split(" VALUES", 1)[0]
        with cursor.cursor.copy(f"COPY {target} FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
        return count
    batch: list[tuple] = []
    for row in rows:
        batch.append(row)
        if len(batch) == batch_size:
            cursor.executemany(sql, batch)
            count += len(batch)
            batch = []
    if batch:
        cursor.executemany(sql, batch)
        count += len(batch)
    return count


def _staff(rng: random.Random, size: Size) -> list:
    from staff.choices import Employment, Team
    from staff.models import StaffMember

    teams = [choice.value for choice in Team]
    rows = []
    for i in range(size.staff):
        start = _day_between(rng, date(2016, 1, 1), date(2024, 9, 30))
        # Likewise, someone who started in the last 180 days is still on staff.
        leaving = rng.random() < 0.15
        earliest = start + timedelta(days=180)
        end = _day_between(rng, earliest, END) if leaving and earliest <= END else None
        part_time = rng.random() < 0.15
        rows.append(
            StaffMember(
                slug=f"{SLUG_PREFIX}staff-{i}",
                name=f"Synthetic Person {i}",
                github=f"syn-dev-{i}",
                email=f"person{i}@example.org",
                title="Engineer",
                team=teams[i % len(teams)],
                employment=Employment.PART_TIME if part_time else Employment.FULL_TIME,
                fte=Decimal("0.50") if part_time else Decimal("1.00"),
                start_on=start,
                end_on=end,
                country="US",
            )
        )
    return StaffMember.objects.bulk_create(rows, batch_size=1000)


def _compensations(rng: random.Random, staff: list) -> int:
    from staff.models import Compensation

    rows = []
    for person in staff:
        salary = _money(rng, 60_000, 160_000)
        effective = person.start_on
        last = person.end_on or END
        while effective <= last:
            rows.append(
                Compensation(
                    staff=person,
                    effective_on=effective,
                    annual_salary=salary,
                    benefits_rate=Decimal("0.2500"),
                    currency="USD",
                )
            )
            salary = (salary * Decimal("1.03")).quantize(Decimal("0.01"))
            effective = effective.replace(year=effective.year + 1, day=min(effective.day, 28))
    Compensation.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


def _repositories(size: Size) -> list:
    from contributions.models import Repository, UpstreamCommunity

    upstream = UpstreamCommunity.objects.bulk_create(
        [
            UpstreamCommunity(slug=f"{SLUG_PREFIX}{slug}", name=name, github_orgs=orgs, is_key=key)
            for slug, name, orgs, key in UPSTREAM
        ]
    )
    orgs = [(community, org) for community in upstream for org in community.github_orgs]
    rows = [
        Repository(full_name=f"{org}/{SLUG_PREFIX}repo-{i}", upstream_community=community)
        for i, (community, org) in ((i, orgs[i % len(orgs)]) for i in range(size.repositories))
    ]
    return Repository.objects.bulk_create(rows, batch_size=2000)


def _pull_requests(rng: random.Random, size: Size, repositories: list, staff: list) -> int:
    from django.db import connection

    from contributions.models import PullRequest

    table = PullRequest._meta.db_table
    adapt = connection.ops.adapt_datetimefield_value
    recorded = adapt(datetime(2025, 1, 1, tzinfo=UTC))
    sql = (
        f"INSERT INTO {table} (created_at, updated_at, recorded_at, repository_id, number, title, url, "
        "author_login, author_id, merged_at, is_bot) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
    )
    span = int((datetime(2024, 12, 31, tzinfo=UTC) - datetime(2021, 1, 1, tzinfo=UTC)).total_seconds())
    numbers: dict[int, int] = {}
    batch = []
    for _ in range(size.pull_requests):
        repository = rng.choice(repositories)
        number = numbers[repository.pk] = numbers.get(repository.pk, 0) + 1
        roll = rng.random()
        if roll < 0.75:
            person = rng.choice(staff)
            login, author_id, is_bot = person.github, person.pk, False
        elif roll < 0.85:
            login, author_id, is_bot = rng.choice(BOTS), None, True
        else:
            login, author_id, is_bot = f"someone-{rng.randrange(5000)}", None, False
        created = datetime(2021, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randrange(span))
        merged = created + timedelta(seconds=rng.randrange(10 * 86400)) if rng.random() < 0.85 else None
        batch.append(
            (
                adapt(created),
                recorded,
                recorded,
                repository.pk,
                number,
                f"Synthetic change {number}",
                f"https://github.com/{repository.full_name}/pull/{number}",
                login,
                author_id,
                adapt(merged) if merged else None,
                is_bot,
            )
        )
    with connection.cursor() as cursor:
        return _insert(cursor, sql, batch)


def _exchange_rates() -> None:
    from funding.models import ExchangeRate

    rates = []
    for n in range(12 * 8):
        month = date(2018 + n // 12, n % 12 + 1, 1)
        rates.append(
            ExchangeRate(currency="EUR", effective_on=month, rate=Decimal("1.05") + Decimal(n % 10) / 100)
        )
    ExchangeRate.objects.bulk_create(rates)


def _add_months(day: date, months: int) -> date:
    from dateutil.relativedelta import relativedelta

    return day + relativedelta(months=months)


def _contracts(rng: random.Random, size: Size, communities: list) -> tuple[int, int]:
    from contracts.choices import ContractCategory, ContractStatus
    from contracts.models import ContractPayment, ServiceContract

    categories = [choice.value for choice in ContractCategory]
    contracts = []
    for i in range(size.contracts):
        status = rng.choices(
            [
                ContractStatus.SIGNED,
                ContractStatus.PROPOSED,
                ContractStatus.DECLINED,
                ContractStatus.TERMINATED,
            ],
            weights=[70, 15, 10, 5],
        )[0]
        signed_on = (
            _day_between(rng, START, END)
            if status in (ContractStatus.SIGNED, ContractStatus.TERMINATED)
            else None
        )
        start = signed_on or _day_between(rng, date(2024, 6, 1), date(2025, 12, 31))
        contracts.append(
            ServiceContract(
                reference=f"{SLUG_PREFIX}contract-{i}",
                community=rng.choice(communities),
                category=rng.choice(categories),
                status=status,
                probability=rng.choice([25, 50, 75]) if status == ContractStatus.PROPOSED else 100,
                signed_on=signed_on,
                start_on=start,
                end_on=_add_months(start, rng.choice([12, 24])) - timedelta(days=1),
                total_value=_money(rng, 5_000, 300_000),
                currency="EUR" if rng.random() < 0.1 else "USD",
            )
        )
    contracts = ServiceContract.objects.bulk_create(contracts, batch_size=1000)
    payments = []
    for contract in contracts:
        if contract.status not in (ContractStatus.SIGNED, ContractStatus.PROPOSED):
            continue
        months = 12 if (contract.end_on - contract.start_on).days < 400 else 24
        each = (contract.total_value / months).quantize(Decimal("0.01"))
        for k in range(months):
            due = _add_months(contract.start_on, k)
            amount = each if k < months - 1 else contract.total_value - each * (months - 1)
            payments.append(
                ContractPayment(
                    contract=contract,
                    due_on=due,
                    amount=amount,
                    paid_on=due if due <= END and contract.status == ContractStatus.SIGNED else None,
                )
            )
    ContractPayment.objects.bulk_create(payments, batch_size=2000)
    return len(contracts), len(payments)


def _budget_lines(grants: list) -> None:
    """The restricted grants' budgets: personnel, cloud and indirect costs, within the grant."""
    from funding.models import GrantBudgetLine

    shares = {"personnel": Decimal("0.60"), "cloud": Decimal("0.25"), "indirect": Decimal("0.10")}
    GrantBudgetLine.objects.bulk_create(
        [
            GrantBudgetLine(
                grant=grant, category=category, amount=(grant.amount * share).quantize(Decimal("0.01"))
            )
            for grant in grants
            if grant.restricted
            for category, share in shares.items()
        ],
        batch_size=2000,
    )


def _grants(rng: random.Random, size: Size) -> tuple[int, int]:
    from funding.choices import FunderKind, GrantCategory, GrantRole, GrantStatus
    from funding.models import Disbursement, Funder, Grant, Subaward, SubawardPayment

    funders = Funder.objects.bulk_create(
        [
            Funder(
                slug=f"{SLUG_PREFIX}funder-{i}",
                name=f"Synthetic funder {i}",
                kind=rng.choice(list(FunderKind)),
            )
            for i in range(size.funders)
        ]
    )
    grants = []
    for i in range(size.grants):
        status = rng.choices(
            [
                GrantStatus.AWARDED,
                GrantStatus.CLOSED,
                GrantStatus.PROSPECT,
                GrantStatus.SUBMITTED,
                GrantStatus.DECLINED,
            ],
            weights=[45, 15, 12, 13, 15],
        )[0]
        awarded = status in (GrantStatus.AWARDED, GrantStatus.CLOSED)
        awarded_on = _day_between(rng, date(2020, 1, 1), END) if awarded else None
        start = awarded_on or _day_between(rng, date(2025, 1, 1), date(2025, 12, 31))
        grants.append(
            Grant(
                reference=f"{SLUG_PREFIX}grant-{i}",
                funder=rng.choice(funders),
                title=f"Synthetic grant {i}",
                category=rng.choice(list(GrantCategory)),
                role=rng.choices(
                    [GrantRole.SOLE, GrantRole.PRIME, GrantRole.SUBRECIPIENT], weights=[80, 10, 10]
                )[0],
                status=status,
                probability=100 if awarded else rng.choice([20, 40, 60]),
                amount=_money(rng, 50_000, 2_000_000),
                currency="EUR" if rng.random() < 0.1 else "USD",
                awarded_on=awarded_on,
                start_on=start,
                end_on=_add_months(start, rng.choice([12, 24, 36])) - timedelta(days=1),
                # Every third restricted to its purpose, as the demo's project grants are.
                restricted=i % 3 == 0,
                purpose="Synthetic project work" if i % 3 == 0 else "",
            )
        )
    grants = Grant.objects.bulk_create(grants, batch_size=1000)
    _budget_lines(grants)
    disbursements, subawards = [], []
    for grant in grants:
        if grant.status not in (GrantStatus.AWARDED, GrantStatus.CLOSED, GrantStatus.SUBMITTED):
            continue
        tranches = 4
        each = (grant.amount / tranches).quantize(Decimal("0.01"))
        for k in range(tranches):
            expected = _add_months(grant.start_on, 3 * k)
            disbursements.append(
                Disbursement(
                    grant=grant,
                    expected_on=expected,
                    amount=each if k < tranches - 1 else grant.amount - each * (tranches - 1),
                    received_on=expected
                    if expected <= END and grant.status != GrantStatus.SUBMITTED
                    else None,
                )
            )
        if grant.role == GrantRole.PRIME:
            for k in range(rng.choice([1, 2])):
                subawards.append(
                    Subaward(
                        reference=f"{grant.reference}-sub-{k}",
                        grant=grant,
                        recipient=f"Partner {k}",
                        amount=(grant.amount * Decimal("0.2")).quantize(Decimal("0.01")),
                        start_on=grant.start_on,
                        end_on=grant.end_on,
                    )
                )
    Disbursement.objects.bulk_create(disbursements, batch_size=2000)
    subawards = Subaward.objects.bulk_create(subawards)
    payments = []
    for subaward in subawards:
        each = (subaward.amount / 4).quantize(Decimal("0.01"))
        for k in range(4):
            due = _add_months(subaward.start_on, 3 * k)
            payments.append(
                SubawardPayment(
                    subaward=subaward,
                    due_on=due,
                    amount=each if k < 3 else subaward.amount - each * 3,
                    paid_on=due if due <= END else None,
                )
            )
    SubawardPayment.objects.bulk_create(payments)
    return len(grants), len(disbursements)


def _expenses(rng: random.Random, scale: int) -> int:
    from funding.choices import ExpenseCategory, Recurrence
    from funding.models import Expense

    rows = [
        Expense(
            name=f"Synthetic {category} {i}",
            category=category,
            amount=_money(rng, 1_000, 20_000),
            recurrence=Recurrence.MONTHLY,
            start_on=_day_between(rng, date(2019, 1, 1), date(2024, 6, 30)),
        )
        for i in range(3 * scale)
        for category in (ExpenseCategory.CLOUD, ExpenseCategory.SOFTWARE, ExpenseCategory.OVERHEAD)
    ]
    rows += [
        Expense(
            name=f"Synthetic travel {i}",
            category=ExpenseCategory.TRAVEL,
            amount=_money(rng, 2_000, 30_000),
            recurrence=Recurrence.ONCE,
            start_on=_day_between(rng, date(2025, 1, 1), date(2026, 12, 31)),
        )
        for i in range(2 * scale)
    ]
    Expense.objects.bulk_create(rows)
    return len(rows)


def _cash(scale: int) -> None:
    from funding.models import CashPosition

    # bulk_create, like every write here: no signal fires, so no recompute runs while building.
    CashPosition.objects.bulk_create(
        [
            CashPosition(
                as_of=END, balance=Decimal("1850000.00") * scale, currency="USD", note="Synthetic books"
            )
        ]
    )


# Daily cloud costs for the last two years, as the cost-monitoring import writes them.
COSTS_FROM = date(2023, 1, 1)


def _cloud_costs(hubs: list) -> int:
    """Each live hub's compute and home storage every day from 2023, and each cluster's cost no
    hub owns (core nodes), in USD: what the cost rollups and the dashboard's cost charts read."""
    from django.db import connection

    from communities.models import CloudCost

    table = CloudCost._meta.db_table
    now = connection.ops.adapt_datetimefield_value(datetime(2025, 1, 1, tzinfo=UTC))
    sql = (
        f"INSERT INTO {table} (created_at, updated_at, date, cluster, hub_id, component, amount, currency) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
    )
    by_cluster: dict[str, list] = {}
    for hub in hubs:
        by_cluster.setdefault(hub.cluster, []).append(hub)

    def rows():
        # In (date, cluster, hub, component) order, the unique index's: it grows at its end.
        for n in range((END - COSTS_FROM).days + 1):
            day = COSTS_FROM + timedelta(days=n)
            value = connection.ops.adapt_datefield_value(day)
            for cluster in sorted(by_cluster):
                yield (now, now, value, cluster, None, "core", Decimal(4_000 + n % 13).scaleb(-2), "USD")
                for hub in by_cluster[cluster]:
                    if hub.launched_on > day or (hub.retired_on is not None and hub.retired_on <= day):
                        continue
                    compute = 300 + (hub.pk * 7919 + n * 104_729) % 30_000
                    storage = 20 + hub.pk % 3_000 + n * (hub.pk % 7) // 10
                    yield (now, now, value, cluster, hub.pk, "compute", Decimal(compute).scaleb(-2), "USD")
                    yield (
                        now,
                        now,
                        value,
                        cluster,
                        hub.pk,
                        "home_storage",
                        Decimal(storage).scaleb(-2),
                        "USD",
                    )

    with connection.cursor() as cursor:
        return _insert(cursor, sql, rows())
