"""The rules of communities, hubs and usage, and their exact messages."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from communities.choices import CommunityKind, HubKind, Provider, Region
from communities.models import ActiveUserCount, Community, Hub
from communities.services import (
    UpsertResult,
    active_user_count_create,
    active_user_count_update,
    active_user_counts_upsert,
    community_create,
    community_derive,
    community_update,
    hub_create,
    hub_update,
    network_create,
    network_update,
)

from .factories import ActiveUserCountFactory, CommunityFactory, HubFactory, NetworkFactory

pytestmark = pytest.mark.django_db

JAN = dt.date(2024, 1, 31)
FEB = dt.date(2024, 2, 29)


def messages(exc: pytest.ExceptionInfo) -> dict[str, list[str]]:
    return exc.value.message_dict


# --- community_derive: docs/definitions.md "Historically marginalized community" ------------


@pytest.mark.parametrize(
    ("kind", "country", "expected"),
    [
        (CommunityKind.R1_UNIVERSITY, "US", False),
        (CommunityKind.R1_UNIVERSITY, "DE", False),
        (CommunityKind.UNIVERSITY, "US", True),
        (CommunityKind.COMMUNITY_COLLEGE, "US", True),
        (CommunityKind.SCHOOL, "GB", True),
        (CommunityKind.RESEARCH_COLLABORATION, "US", False),
        (CommunityKind.GOVERNMENT, "CA", False),
        (CommunityKind.NONPROFIT, "FR", False),
        (CommunityKind.OTHER, "US", False),
        (CommunityKind.R1_UNIVERSITY, "KE", True),
        (CommunityKind.RESEARCH_COLLABORATION, "BR", True),
        (CommunityKind.NONPROFIT, "PL", True),
        (CommunityKind.GOVERNMENT, "IN", True),
        (CommunityKind.R1_UNIVERSITY, "AU", True),
    ],
)
def test_historically_marginalized_is_derived_from_kind_and_region(kind, country, expected):
    community = Community(kind=kind, country=country)
    community_derive(community)
    assert community.historically_marginalized is expected


@pytest.mark.parametrize("override", [True, False])
def test_marginalized_override_wins_over_the_derived_flag(override):
    for kind, country in [(CommunityKind.SCHOOL, "KE"), (CommunityKind.R1_UNIVERSITY, "US")]:
        community = Community(kind=kind, country=country, marginalized_override=override)
        community_derive(community)
        assert community.historically_marginalized is override


def test_region_is_derived_from_country_when_blank():
    community = Community(kind=CommunityKind.UNIVERSITY, country="KE")
    community_derive(community)
    assert community.region == Region.AFRICA


def test_an_explicit_region_is_kept_and_drives_the_flag():
    community = Community(kind=CommunityKind.R1_UNIVERSITY, country="KE", region=Region.WESTERN_EUROPE)
    community_derive(community)
    assert community.region == Region.WESTERN_EUROPE
    assert community.historically_marginalized is False


def test_updating_a_community_stores_the_derived_columns_again():
    community = CommunityFactory(kind=CommunityKind.R1_UNIVERSITY, country="US")
    assert (community.region, community.historically_marginalized) == (Region.NORTH_AMERICA, False)
    community_update(community=community, data={"kind": CommunityKind.SCHOOL})
    community.refresh_from_db()
    assert community.historically_marginalized is True


# --- Community.clean / Hub.clean --------------------------------------------------------------


def test_a_community_cannot_leave_before_it_joined():
    with pytest.raises(ValidationError) as exc:
        community_create(
            slug="early",
            name="Early",
            kind=CommunityKind.SCHOOL,
            country="US",
            joined_on=dt.date(2023, 5, 1),
            left_on=dt.date(2023, 4, 30),
        )
    assert messages(exc) == {"left_on": ["Left on 2023-04-30 is before joined on 2023-05-01."]}
    assert not Community.objects.exists()


def test_a_community_may_leave_on_the_day_it_joined():
    community = community_create(
        slug="brief",
        name="Brief",
        kind=CommunityKind.SCHOOL,
        country="US",
        joined_on=dt.date(2023, 5, 1),
        left_on=dt.date(2023, 5, 1),
    )
    assert community.left_on == community.joined_on


def test_a_hub_cannot_retire_before_it_launched():
    community = CommunityFactory()
    with pytest.raises(ValidationError) as exc:
        hub_create(
            slug="h",
            community=community,
            name="H",
            provider=Provider.AWS,
            launched_on=dt.date(2022, 3, 1),
            retired_on=dt.date(2022, 2, 28),
        )
    assert messages(exc) == {"retired_on": ["Retired on 2022-02-28 is before launched on 2022-03-01."]}


def test_a_hub_may_launch_before_its_community_joined():
    community = CommunityFactory(joined_on=dt.date(2023, 1, 1))
    hub = hub_create(
        slug="pilot",
        community=community,
        name="Pilot",
        provider=Provider.GCP,
        launched_on=dt.date(2022, 6, 1),
    )
    assert hub.launched_on < community.joined_on


# --- create / update -------------------------------------------------------------------------


def test_community_create_links_networks_by_slug_and_derives():
    NetworkFactory(slug="latam")
    community = community_create(
        slug="uni-x",
        name="Uni X",
        kind=CommunityKind.UNIVERSITY,
        country="BR",
        joined_on=JAN,
        networks=["latam"],
    )
    assert community.region == Region.LATIN_AMERICA
    assert community.historically_marginalized is True
    assert list(community.networks.values_list("slug", flat=True)) == ["latam"]


def test_community_create_refuses_unknown_networks_by_name():
    with pytest.raises(ValidationError) as exc:
        community_create(
            slug="uni-x",
            name="Uni X",
            kind=CommunityKind.UNIVERSITY,
            country="BR",
            joined_on=JAN,
            networks=["nope"],
        )
    assert messages(exc) == {"networks": ["No network with slug 'nope'."]}


def test_community_create_refuses_an_unknown_country():
    with pytest.raises(ValidationError) as exc:
        community_create(slug="x", name="X", kind=CommunityKind.SCHOOL, country="XX", joined_on=JAN)
    assert list(messages(exc)) == ["country"]


def test_community_update_re_derives_the_region_when_only_the_country_changes():
    community = CommunityFactory(country="US", kind=CommunityKind.R1_UNIVERSITY)
    community_update(community=community, data={"country": "KE"})
    community.refresh_from_db()
    assert (community.region, community.historically_marginalized) == (Region.AFRICA, True)


def test_community_update_keeps_an_explicit_region_given_with_the_country():
    community = CommunityFactory(country="US")
    community_update(community=community, data={"country": "KE", "region": Region.WESTERN_EUROPE})
    community.refresh_from_db()
    assert community.region == Region.WESTERN_EUROPE


def test_community_update_replaces_networks():
    a, b = NetworkFactory(slug="a"), NetworkFactory(slug="b")
    community = CommunityFactory(networks=[a])
    community_update(community=community, data={"networks": ["b"]})
    assert list(community.networks.all()) == [b]


def test_update_refuses_fields_it_does_not_know():
    with pytest.raises(TypeError, match="historically_marginalized"):
        community_update(community=CommunityFactory(), data={"historically_marginalized": True})


def test_network_create_and_update_validate_the_slug():
    network = network_create(slug="afr", name="Africa")
    network_update(network=network, data={"name": "Africa network"})
    assert network.name == "Africa network"
    with pytest.raises(ValidationError) as exc:
        network_create(slug="afr", name="Again")
    assert list(messages(exc)) == ["slug"]


def test_hub_create_takes_the_community_slug_and_refuses_an_unknown_one():
    CommunityFactory(slug="uni")
    hub = hub_create(slug="h1", community="uni", name="H1", provider=Provider.AZURE, launched_on=JAN)
    assert hub.community.slug == "uni"
    with pytest.raises(ValidationError) as exc:
        hub_create(slug="h2", community="nope", name="H2", provider=Provider.AZURE, launched_on=JAN)
    assert messages(exc) == {"community": ["No community with slug 'nope'."]}


def test_hub_update_moves_a_hub_to_another_community_by_slug():
    hub = HubFactory()
    CommunityFactory(slug="other")
    hub_update(hub=hub, data={"community": "other", "kind": HubKind.DASKHUB})
    hub.refresh_from_db()
    assert (hub.community.slug, hub.kind) == ("other", HubKind.DASKHUB)


def test_active_user_count_create_and_update():
    hub = HubFactory(slug="h")
    count = active_user_count_create(hub="h", date=JAN, period="30d", active_users=10)
    active_user_count_update(active_user_count=count, data={"active_users": 12})
    count.refresh_from_db()
    assert count.active_users == 12
    with pytest.raises(ValidationError) as exc:
        active_user_count_create(hub=hub, date=JAN, period="30d", active_users=3)
    assert list(messages(exc)) == ["__all__"]


# --- active_user_counts_upsert -----------------------------------------------------------------


def sample(hub="h", day=JAN, period="30d", users=10) -> dict:
    return {"hub": hub, "date": day, "period": period, "active_users": users}


def stored() -> list[tuple]:
    return list(
        ActiveUserCount.objects.order_by("hub__slug", "date", "period").values_list(
            "hub__slug", "date", "period", "active_users"
        )
    )


def test_upsert_inserts_new_rows_by_slug_or_hub(django_assert_num_queries):
    hub = HubFactory(slug="h")
    HubFactory(slug="g")
    rows = [
        sample(),
        sample(period="7d", users=4),
        sample(hub=hub, day=FEB),
        sample(hub="g", day="2024-01-31"),
    ]
    # hubs by slug, existing samples, one INSERT (inside a savepoint: SAVEPOINT/RELEASE).
    with django_assert_num_queries(5):
        result = active_user_counts_upsert(rows=rows)
    assert result == UpsertResult(created=4, updated=0, unchanged=0)
    assert stored() == [
        ("g", JAN, "30d", 10),
        ("h", JAN, "30d", 10),
        ("h", JAN, "7d", 4),
        ("h", FEB, "30d", 10),
    ]


def test_upsert_updates_changed_rows_and_leaves_the_rest_alone():
    hub = HubFactory(slug="h")
    kept = ActiveUserCountFactory(hub=hub, date=JAN, period="30d", active_users=10)
    ActiveUserCountFactory(hub=hub, date=FEB, period="30d", active_users=10)
    result = active_user_counts_upsert(
        rows=[sample(), sample(day=FEB, users=11), sample(day=FEB, period="24h", users=1)]
    )
    assert result == UpsertResult(created=1, updated=1, unchanged=1)
    assert stored() == [("h", JAN, "30d", 10), ("h", FEB, "24h", 1), ("h", FEB, "30d", 11)]
    assert ActiveUserCount.objects.get(pk=kept.pk).updated_at == kept.updated_at


def test_upsert_twice_is_idempotent():
    HubFactory(slug="h")
    rows = [sample(), sample(day=FEB, users=0)]
    active_user_counts_upsert(rows=rows)
    first = stored()
    assert active_user_counts_upsert(rows=rows) == UpsertResult(created=0, updated=0, unchanged=2)
    assert stored() == first


def test_upsert_of_nothing_does_nothing(django_assert_num_queries):
    # Only the savepoint of @transaction.atomic (SAVEPOINT, RELEASE): no read, no write.
    with django_assert_num_queries(2):
        assert active_user_counts_upsert(rows=[]) == UpsertResult(0, 0, 0)


@pytest.mark.parametrize(
    ("bad", "field", "message"),
    [
        ({"hub": "nope"}, "hub", "row {i}: no hub with slug 'nope'."),
        ({"hub": 7}, "hub", "row {i}: 7 is not a hub slug."),
        ({"date": "31/01/2024"}, "date", "row {i}: '31/01/2024' is not a date (YYYY-MM-DD)."),
        (
            {"date": dt.datetime(2024, 1, 31, 12, 0)},
            "date",
            "row {i}: '2024-01-31T12:00:00' is a date and time; give the day (YYYY-MM-DD).",
        ),
        ({"period": "1h"}, "period", "row {i}: '1h' is not a period; use one of 24h, 7d, 30d."),
        (
            {"active_users": -1},
            "active_users",
            "row {i}: -1 is not a number of users (a whole number, 0 or more).",
        ),
        (
            {"active_users": 2.5},
            "active_users",
            "row {i}: 2.5 is not a number of users (a whole number, 0 or more).",
        ),
        ({"active_users": True}, "active_users", "row {i}: True is not a number of users."),
        ({"active_users": None}, "active_users", "row {i}: active_users is required."),
        ({"hub": ""}, "hub", "row {i}: hub is required."),
    ],
)
@pytest.mark.parametrize("position", [0, 1, 2])
def test_upsert_refuses_a_bad_row_anywhere_and_writes_nothing(bad, field, message, position):
    HubFactory(slug="h")
    ActiveUserCountFactory(hub__slug="h", date=JAN, period="30d", active_users=1)
    before = stored()
    rows = [sample(users=5), sample(day=FEB), sample(period="7d")]
    rows[position] = {**rows[position], **bad}
    with pytest.raises(ValidationError) as exc:
        active_user_counts_upsert(rows=rows)
    assert messages(exc) == {field: [message.format(i=position)]}
    assert stored() == before


def test_upsert_reports_every_bad_row_by_index_and_field():
    HubFactory(slug="h")
    rows = [sample(hub="x"), sample(), sample(period="1y", users=-2)]
    with pytest.raises(ValidationError) as exc:
        active_user_counts_upsert(rows=rows)
    assert messages(exc) == {
        "hub": ["row 0: no hub with slug 'x'."],
        "period": ["row 2: '1y' is not a period; use one of 24h, 7d, 30d."],
        "active_users": ["row 2: -2 is not a number of users (a whole number, 0 or more)."],
    }
    assert not ActiveUserCount.objects.exists()


def test_upsert_refuses_two_rows_for_the_same_sample():
    HubFactory(slug="h")
    with pytest.raises(ValidationError) as exc:
        active_user_counts_upsert(
            rows=[sample(users=1), sample(hub=Hub.objects.get(), day="2024-01-31", users=2)]
        )
    assert messages(exc) == {"rows": ["row 1: repeats row 0 (hub h, 2024-01-31, 30d)."]}
    assert not ActiveUserCount.objects.exists()


def test_upsert_refuses_a_row_that_is_not_a_mapping():
    with pytest.raises(ValidationError) as exc:
        active_user_counts_upsert(rows=[["h", JAN, "30d", 1]])
    assert messages(exc) == {"rows": ["row 0: expected an object with hub, date, period, active_users."]}


def test_upsert_accepts_counts_as_digit_strings():
    HubFactory(slug="h")
    active_user_counts_upsert(rows=[sample(users="17")])
    assert stored() == [("h", JAN, "30d", 17)]


def test_upsert_accepts_the_largest_count_an_integer_column_holds():
    HubFactory(slug="h")
    active_user_counts_upsert(rows=[sample(users=2**31 - 1)])
    assert stored() == [("h", JAN, "30d", 2**31 - 1)]


@pytest.mark.parametrize("users", [2**31, str(2**31), 10**30])
def test_upsert_refuses_a_count_too_large_for_an_integer_column(users):
    HubFactory(slug="h")
    with pytest.raises(ValidationError) as exc:
        active_user_counts_upsert(rows=[sample(), sample(day=FEB, users=users)])
    assert messages(exc) == {
        "active_users": [f"row 1: {int(users)} is more users than can be stored (at most 2147483647)."]
    }
    assert not ActiveUserCount.objects.exists()


def test_upsert_refuses_a_count_written_with_digits_int_cannot_read():
    HubFactory(slug="h")
    with pytest.raises(ValidationError) as exc:
        active_user_counts_upsert(rows=[sample(users="\u00b2")])
    assert messages(exc) == {
        "active_users": ["row 0: '\u00b2' is not a number of users (a whole number, 0 or more)."]
    }


@pytest.mark.parametrize("field", ["hub", "date", "period", "active_users"])
def test_upsert_refuses_a_nul_character_in_any_field_without_querying_it(field, django_assert_num_queries):
    HubFactory(slug="h")
    rows = [sample(), sample(day=FEB)]
    rows[1][field] = {"hub": "h\x00", "date": "2024-02-29\x00", "period": "30d\x00", "active_users": "1\x00"}[
        field
    ]
    # SAVEPOINT, the hub lookup of the good row (slug 'h' only), ROLLBACK TO and RELEASE: the
    # NUL never reaches SQL, which PostgreSQL would answer with an error (a 500).
    with django_assert_num_queries(4) as queries, pytest.raises(ValidationError) as exc:
        active_user_counts_upsert(rows=rows)
    assert messages(exc) == {field: [f"row 1: {field} contains a NUL character (\\x00)."]}
    assert not any("\x00" in query["sql"] for query in queries.captured_queries)
    assert not ActiveUserCount.objects.exists()
