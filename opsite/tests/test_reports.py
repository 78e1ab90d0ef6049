"""The generated report: who may open it, its figures on a small organization built by hand, the
form's errors, and that its page costs the same queries at two sizes.

The formats (MyST zip, PDF) and the demo organization's report are in test_reports_formats.py.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from communities.choices import HubKind, UsagePeriod
from communities.tests.factories import ActiveUserCountFactory, CommunityFactory, HubFactory
from contracts.choices import ContractStatus
from contracts.tests.factories import ServiceContractFactory
from contributions.tests.factories import PullRequestFactory, RepositoryFactory, UpstreamCommunityFactory
from funding.choices import GrantCategory, GrantStatus
from funding.tests.factories import (
    GrantBudgetLineFactory,
    GrantFactory,
    SubawardFactory,
    SubawardPaymentFactory,
)
from opsite.reports.figures import report_figures
from staff.tests.factories import StaffMemberFactory

URL = "/leadership/reports/"
START, END = date(2024, 1, 1), date(2024, 6, 30)
RANGE = {"start": START.isoformat(), "end": END.isoformat()}
MONTH_ENDS = [
    date(2024, 1, 31),
    date(2024, 2, 29),
    date(2024, 3, 31),
    date(2024, 4, 30),
    date(2024, 5, 31),
    END,
]


def _samples(hub, days, monthly: int, weekly: int) -> None:
    for day in days:
        ActiveUserCountFactory(hub=hub, date=day, period=UsagePeriod.MONTH, active_users=monthly)
        ActiveUserCountFactory(hub=hub, date=day, period=UsagePeriod.WEEK, active_users=weekly)


def _merged(repository, login: str, when: datetime, **extra):
    return PullRequestFactory(
        repository=repository, author_login=login, created_at=when, merged_at=when, **extra
    )


def build_small_organization() -> dict:
    """An organization whose report of the first half of 2024 is worked out by hand:

    - community A (US university, not marginalized): 100 monthly / 40 weekly users every month-end;
    - community B (Brazil: historically marginalized): 50 / 20 every month-end;
    - community C: its hub had 30 users at the end of January and retired on 15 February: served
      in the range, not active at its end;
    - community D: a live hub that never had a user: not served;
    - a BinderHub of A with 999 "users" (sessions): an active hub, never in the MAU.
    """
    a = CommunityFactory(name="Alpha University", country="US")
    b = CommunityFactory(name="Beta Institute", country="BR")
    c = CommunityFactory(name="Gamma Lab", country="US")
    d = CommunityFactory(name="Delta College", country="US", kind="r1_university")
    hub_a = HubFactory(community=a, launched_on=date(2023, 6, 1))
    _samples(hub_a, MONTH_ENDS, 100, 40)
    _samples(
        HubFactory(community=a, kind=HubKind.BINDERHUB, launched_on=date(2023, 6, 1)), MONTH_ENDS, 999, 99
    )
    _samples(HubFactory(community=b, launched_on=date(2023, 6, 1)), MONTH_ENDS, 50, 20)
    _samples(
        HubFactory(community=c, launched_on=date(2023, 6, 1), retired_on=date(2024, 2, 15)),
        [date(2024, 1, 31)],
        30,
        10,
    )
    _samples(HubFactory(community=d, launched_on=date(2024, 1, 1)), MONTH_ENDS, 0, 0)

    # Staff: on 1 January Ana and Ben; on 30 June Ana, Cy and Di (Ben left on 30 April).
    StaffMemberFactory(github="ana", start_on=date(2023, 1, 1))
    StaffMemberFactory(github="ben", start_on=date(2023, 1, 1), end_on=date(2024, 4, 30))
    StaffMemberFactory(github="cy", start_on=date(2024, 3, 1))
    StaffMemberFactory(github="di", start_on=date(2024, 5, 1))

    # Pull requests: four counted (JupyterHub 3 in two repositories, Dask 1), the rest not.
    jupyterhub = UpstreamCommunityFactory(slug="jupyterhub", name="JupyterHub", github_orgs=["jupyterhub"])
    dask = UpstreamCommunityFactory(slug="dask", name="Dask", github_orgs=["dask"])
    elsewhere = UpstreamCommunityFactory(
        slug="elsewhere", name="Elsewhere", github_orgs=["elsewhere"], is_key=False
    )
    hub_repo = RepositoryFactory(upstream_community=jupyterhub, full_name="jupyterhub/jupyterhub")
    proxy_repo = RepositoryFactory(upstream_community=jupyterhub, full_name="jupyterhub/proxy")
    dask_repo = RepositoryFactory(upstream_community=dask, full_name="dask/dask")
    other_repo = RepositoryFactory(upstream_community=elsewhere, full_name="elsewhere/thing")
    _merged(hub_repo, "ana", datetime(2024, 1, 10, 12, tzinfo=UTC))
    _merged(hub_repo, "ana", datetime(2024, 2, 10, 12, tzinfo=UTC))
    _merged(proxy_repo, "ana", datetime(2024, 6, 30, 23, 30, tzinfo=UTC))  # the last day, UTC
    _merged(dask_repo, "cy", datetime(2024, 4, 1, 9, tzinfo=UTC))
    _merged(other_repo, "ana", datetime(2024, 3, 1, 9, tzinfo=UTC))  # not a key community
    _merged(hub_repo, "ana", datetime(2023, 12, 31, 23, tzinfo=UTC))  # before the range
    _merged(hub_repo, "ana", datetime(2024, 7, 1, 0, 30, tzinfo=UTC))  # after it
    _merged(hub_repo, "dependabot[bot]", datetime(2024, 3, 3, tzinfo=UTC), is_bot=True)
    _merged(hub_repo, "stranger", datetime(2024, 3, 4, tzinfo=UTC))  # not staff
    _merged(dask_repo, "cy", datetime(2024, 2, 1, tzinfo=UTC))  # before Cy joined

    # Funding: 100,000 + 200,000 (50,000 passed on) + a 30,000 contract in the range.
    GrantFactory(reference="sole-2024", awarded_on=date(2024, 2, 1), amount=Decimal("100000.00"))
    prime = GrantFactory(
        reference="prime-2024",
        title="Open science hubs",
        purpose="Hubs for open science | in Latin America",
        prime=True,
        category=GrantCategory.COLLABORATION,
        awarded_on=date(2024, 5, 15),
        amount=Decimal("200000.00"),
    )
    GrantFactory(reference="earlier", awarded_on=date(2023, 12, 1), amount=Decimal("77777.00"))
    GrantFactory(reference="maybe", status=GrantStatus.PROSPECT, awarded_on=None, probability=50)
    ServiceContractFactory(community=a, signed_on=date(2024, 3, 10), total_value=Decimal("30000.00"))
    ServiceContractFactory(
        community=b,
        status=ContractStatus.PROPOSED,
        signed_on=None,
        probability=50,
        total_value=Decimal("9.00"),
    )
    subaward = SubawardFactory(grant=prime, recipient="Universidad del Sur", amount=Decimal("50000.00"))
    SubawardPaymentFactory(
        subaward=subaward, amount=Decimal("10000.00"), due_on=date(2024, 6, 1), paid_on=date(2024, 6, 1)
    )
    SubawardPaymentFactory(
        subaward=subaward, amount=Decimal("5000.00"), due_on=date(2024, 7, 1), paid_on=date(2024, 7, 15)
    )
    SubawardPaymentFactory(subaward=subaward, amount=Decimal("5000.00"), due_on=date(2024, 9, 1))
    GrantBudgetLineFactory(grant=prime, category="subawards", amount=Decimal("50000.00"))
    GrantBudgetLineFactory(grant=prime, category="personnel", amount=Decimal("120000.00"))
    return {"prime": prime}


# --- who may open it ------------------------------------------------------------------------

FORMATS = ["", "&format=myst", "&format=pdf"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query",
    ["", "?start=2024-01-01&end=2024-06-30", *(f"?start=2024-01-01&end=2024-06-30{f}" for f in FORMATS[1:])],
)
def test_anonymous_visitors_are_sent_to_the_login_page(client, query):
    response = client.get(URL + query)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query",
    ["", "?start=2024-01-01&end=2024-06-30", *(f"?start=2024-01-01&end=2024-06-30{f}" for f in FORMATS[1:])],
)
def test_operations_gets_403_for_the_form_the_page_and_each_format(operations_client, query):
    build_small_organization()
    response = operations_client.get(URL + query)
    assert response.status_code == 403
    assert b"Universidad del Sur" not in response.content
    assert b"200,000" not in response.content


@pytest.mark.django_db
@pytest.mark.parametrize("client_fixture", ["finance_client", "leadership_client"])
def test_finance_and_leadership_open_the_form_and_the_report(request, client_fixture):
    build_small_organization()
    client = request.getfixturevalue(client_fixture)
    form = client.get(URL)
    assert form.status_code == 200
    assert b'id="report-grant"' in form.content and b'id="report-range"' in form.content
    assert b"prime-2024" in form.content  # an awarded grant is offered
    assert b"maybe" not in form.content  # a prospect is not
    page = client.get(URL, RANGE)
    assert page.status_code == 200
    assert page["Cache-Control"].startswith("private") or "no-store" in page["Cache-Control"]


@pytest.mark.django_db
def test_the_dashboard_navigation_links_to_the_reports_for_those_who_may_open_them(
    finance_client, operations_client
):
    assert b'id="nav-reports" ' not in operations_client.get("/kpis/").content
    page = finance_client.get("/leadership/")
    assert f'href="{URL}" id="nav-reports"'.encode() in page.content


# --- the figures, by hand -------------------------------------------------------------------


@pytest.mark.django_db
def test_the_figures_of_a_small_organization_are_those_worked_out_by_hand():
    build_small_organization()
    figures = report_figures(start=START, end=END, grant=None)
    # A, B and C were active on a month-end of the range; D never had a user. B is marginalized.
    assert (figures.communities_served, figures.historically_marginalized) == (3, 1)
    # On 30 June: A 100 + B 50 (the BinderHub's sessions left out); weekly 40 + 20.
    assert (figures.monthly_active, figures.weekly_active) == (150, 60)
    assert figures.active_hubs == 3  # A's two hubs and B's
    assert (figures.merged_pull_requests, figures.repositories) == (4, 3)
    assert figures.pull_requests_by_community == (("JupyterHub", 3), ("Dask", 1))
    assert (figures.headcount_start, figures.headcount_end) == (2, 3)
    assert figures.funding_gross == Decimal("330000.00")
    assert figures.funding_net == Decimal("280000.00")
    assert figures.funding_by_category == (
        ("direct_grant", Decimal("100000.00")),
        ("collaboration", Decimal("200000.00")),
        ("service_contract", Decimal("30000.00")),
    )
    assert [(p.period, p.active, p.historically_marginalized) for p in figures.communities_by_quarter] == [
        ("2024-Q1", 2, 1),
        ("2024-Q2", 2, 1),
    ]
    # January counts C's 30 users; February on, C is retired.
    assert [p.monthly_active for p in figures.months] == [180, 150, 150, 150, 150, 150]
    # Ben's last day, 30 April, still counts; Di starts in May.
    assert [p.headcount for p in figures.months] == [2, 2, 3, 3, 3, 3]
    assert [
        (p.period.label, p.merged_pull_requests, p.by_community) for p in figures.pull_requests_by_quarter
    ] == [
        ("2024-Q1", 2, {"jupyterhub": 2}),
        ("2024-Q2", 2, {"dask": 1, "jupyterhub": 1}),
    ]
    assert [p.gross for p in figures.funding_by_quarter] == [Decimal("130000.00"), Decimal("200000.00")]
    assert [p.count for p in figures.contracts_by_quarter] == [1, 0]


@pytest.mark.django_db
def test_a_grant_report_has_its_budget_and_its_subawards_paid_up_to_the_end():
    prime = build_small_organization()["prime"]
    figures = report_figures(start=START, end=END, grant=prime)
    assert figures.grant is not None
    [subaward] = figures.grant.subawards
    # 10,000 paid on 1 June; 5,000 paid on 15 July is after the end; 5,000 not paid yet.
    assert (subaward.recipient, subaward.amount, subaward.paid) == (
        "Universidad del Sur",
        Decimal("50000.00"),
        Decimal("10000.00"),
    )
    budget = {line.category: line for line in figures.grant.budget.lines}
    assert budget["personnel"].budget == Decimal("120000.00")
    assert budget["subawards"].spent == Decimal("10000.00")


@pytest.mark.django_db
def test_the_web_page_shows_the_headline_figures_the_seven_figures_and_their_tables(finance_client):
    prime = build_small_organization()["prime"]
    page = finance_client.get(URL, RANGE)
    text = page.content.decode()
    for expected in (
        "Communities served",
        ">3<",
        ">150<",
        ">60<",
        "330,000.00 USD",
        "280,000.00 USD",
        "JupyterHub",
    ):
        assert expected in text, expected
    assert text.count("<svg") == 7
    assert text.count("<figure") == 7
    assert 'id="fig-contracts"' in text  # a plain range: contracts signed per quarter
    assert "<?xml" not in text
    assert text.count("<caption>") >= 7 + 3
    grant_page = finance_client.get(URL, {"grant": prime.reference}).content.decode()
    assert 'id="fig-budget"' in grant_page and 'id="fig-contracts"' not in grant_page
    assert "Universidad del Sur" in grant_page and "Open science hubs" in grant_page
    assert "format=myst" in grant_page and "format=pdf" in grant_page


# --- the form's errors ----------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"start": "2024-06-30", "end": "2024-01-01"}, "end", "is before the first day"),
        ({"start": "2024-01-01"}, "end", "Give the last day"),
        ({"end": "2024-01-01"}, "start", "Give the first day"),
        ({"start": "2024-13-01", "end": "2024-12-31"}, "start", "Enter a valid date"),
        ({"start": "2001-01-01", "end": "2024-12-31"}, "end", "at most 10 years"),
        ({"start": "2024-01-01", "end": "2999-01-01"}, "end", ""),
        ({"grant": "no-such-grant"}, "grant", "Select a valid choice"),
        ({"start": "2024-01-01", "end": "2024-02-01", "format": "docx"}, "format", "Select a valid choice"),
    ],
)
def test_a_bad_range_is_refused_with_an_error_naming_the_field(finance_client, query, field, message):
    response = finance_client.get(URL, query)
    assert response.status_code == 400
    text = response.content.decode()
    assert f'id="error-{field}"' in text
    assert message in text


@pytest.mark.django_db
def test_a_grant_and_a_range_together_are_refused(finance_client):
    prime = build_small_organization()["prime"]
    response = finance_client.get(URL, {"grant": prime.reference, **RANGE})
    assert response.status_code == 400
    assert "not both" in response.content.decode()


# --- what it costs --------------------------------------------------------------------------


def _page_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(URL, RANGE).status_code == 200
    return len(queries)


@pytest.mark.django_db
def test_the_page_costs_the_same_queries_with_more_of_every_row(finance_client):
    build_small_organization()
    small = _page_queries(finance_client)
    for _ in range(3):
        _merged(
            RepositoryFactory(upstream_community=UpstreamCommunityFactory()),
            "ana",
            datetime(2024, 5, 5, tzinfo=UTC),
        )
    _samples(HubFactory(community=CommunityFactory(), launched_on=date(2023, 1, 1)), MONTH_ENDS, 5, 5)
    for _ in range(30):
        CommunityFactory()
    ServiceContractFactory(signed_on=date(2024, 4, 4))
    GrantFactory(awarded_on=date(2024, 4, 4))
    assert _page_queries(finance_client) == small
    # The session and user (2), the hubs (1), usage samples on 6 month-ends (3), contributions and
    # names (2), headcount (1), rates, grants, subawards of the prime grant, contracts (4), the
    # contracts' chart (1): 14, plus the user's permissions.
    assert small <= 18
