"""Rows for the site-wide tests: an organization with a little of everything the rollups read."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from communities.choices import UsagePeriod
from communities.tests.factories import ActiveUserCountFactory, CommunityFactory, HubFactory
from contracts.tests.factories import ServiceContractFactory
from contributions.tests.factories import PullRequestFactory, RepositoryFactory, UpstreamCommunityFactory
from funding.tests.factories import GrantFactory
from staff.tests.factories import StaffMemberFactory

MONTH_ENDS = [date(2024, 1, 31), date(2024, 2, 29), date(2024, 3, 31)]


def build_organization(hubs: int = 3) -> dict:
    """A small organization: hubs with month-end samples, staff merging pull requests, money in.

    ``hubs`` hubs, each in its own community (every second one in Brazil, so historically
    marginalized), with monthly, weekly and daily samples at ``MONTH_ENDS``; two staff members,
    one of whom merges a pull request into the key upstream community ``jupyterhub`` for each hub;
    a grant and a contract for each hub. Returns the last hub, the repository and the staff member
    who merges.
    """
    jupyterhub = UpstreamCommunityFactory(slug="jupyterhub", github_orgs=["jupyterhub"], is_key=True)
    repository = RepositoryFactory(upstream_community=jupyterhub)
    person = StaffMemberFactory(github="octo", start_on=date(2023, 6, 1), fte=Decimal("0.80"))
    StaffMemberFactory(start_on=date(2024, 2, 1))
    for index in range(hubs):
        community = CommunityFactory(country="BR" if index % 2 else "US")
        hub = HubFactory(community=community, launched_on=date(2023, 12, 1))
        for day in MONTH_ENDS:
            ActiveUserCountFactory(hub=hub, date=day, period=UsagePeriod.MONTH, active_users=10)
            ActiveUserCountFactory(hub=hub, date=day, period=UsagePeriod.WEEK, active_users=4)
            ActiveUserCountFactory(hub=hub, date=day, period=UsagePeriod.DAY, active_users=1)
        PullRequestFactory(
            repository=repository,
            author_login=person.github,
            created_at=datetime(2024, 2, 1 + index, tzinfo=UTC),
            merged_at=datetime(2024, 2, 2 + index, tzinfo=UTC),
        )
        GrantFactory(awarded_on=date(2024, 1, 10 + index), amount=Decimal("1000.00"))
        ServiceContractFactory(signed_on=date(2024, 3, 1 + index), total_value=Decimal("500.25"))
    return {"hub": hub, "repository": repository, "person": person}
