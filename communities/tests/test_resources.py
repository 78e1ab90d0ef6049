"""Import and export of networks, communities, hubs and usage: round trips, all or nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from communities.choices import CommunityKind, Region
from communities.models import ActiveUserCount, Community, Hub, Network
from communities.resources import ActiveUserCountResource, CommunityResource, HubResource, NetworkResource
from opsite.core.resources import ImportFailed, RowError, import_file
from opsite.core.testing import csv_text, exported_file

from .factories import ActiveUserCountFactory, CommunityFactory, HubFactory, NetworkFactory

pytestmark = pytest.mark.django_db

RESOURCES = [
    (NetworkResource, Network),
    (CommunityResource, Community),
    (HubResource, Hub),
    (ActiveUserCountResource, ActiveUserCount),
]


def snapshot(model) -> list[dict]:
    fields = [f.attname for f in model._meta.concrete_fields if f.name not in ("created_at", "updated_at")]
    rows = list(model.objects.order_by("pk").values(*fields))
    if model is Community:
        for row in rows:
            row["networks"] = sorted(
                Community.objects.get(pk=row["id"]).networks.values_list("slug", flat=True)
            )
    return rows


@pytest.fixture
def served() -> None:
    """A little of everything, with the awkward values: nulls, overrides, formulas, many networks."""
    latam, afr = NetworkFactory(slug="latam", name="LatAm"), NetworkFactory(slug="afr", name="=Africa")
    sol = CommunityFactory(
        slug="sol",
        name="+Universidad del Sol",
        kind=CommunityKind.UNIVERSITY,
        country="CL",
        networks=[latam, afr],
        left_on=dt.date(2024, 6, 30),
    )
    north = CommunityFactory(slug="north", name="North", country="US", marginalized_override=True, website="")
    odd = CommunityFactory(slug="odd", name="Odd", country="KE", region=Region.WESTERN_EUROPE)
    h1 = HubFactory(slug="sol-hub", community=sol, cluster="-cluster", retired_on=dt.date(2024, 7, 1))
    h2 = HubFactory(slug="north-hub", community=north, url="", kind="binderhub", provider="aws")
    HubFactory(slug="odd-hub", community=odd)
    for day in (dt.date(2024, 1, 31), dt.date(2024, 2, 29)):
        ActiveUserCountFactory(hub=h1, date=day, period="30d", active_users=100)
        ActiveUserCountFactory(hub=h1, date=day, period="7d", active_users=0)
        ActiveUserCountFactory(hub=h2, date=day, period="24h", active_users=7)


# --- round trip ------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "json"])
@pytest.mark.parametrize(("resource_class", "model"), RESOURCES)
def test_an_export_re_imports_as_an_update_with_nothing_changed(served, fmt, resource_class, model):
    before = snapshot(model)
    content = exported_file(resource_class(), fmt)
    result = import_file(resource_class(), content, fmt)
    assert snapshot(model) == before
    # Unchanged rows are skipped, not written.
    assert [row.import_type for row in result.rows] == ["skip"] * len(before)


def test_the_community_export_writes_relations_by_slug_and_the_derived_flag(served):
    rows = CommunityResource().export().dict
    sol = next(r for r in rows if r["slug"] == "sol")
    assert (sol["networks"], sol["region"], sol["historically_marginalized"]) == (
        "afr,latam",
        "latin_america",
        "1",
    )
    assert sol["name"] == "'+Universidad del Sol"
    hub = next(r for r in HubResource().export().dict if r["slug"] == "sol-hub")
    assert (hub["community"], hub["cluster"]) == ("sol", "'-cluster")


def test_an_import_cannot_set_the_derived_flag_but_can_set_the_override(served):
    header = [
        "slug",
        "name",
        "kind",
        "country",
        "joined_on",
        "historically_marginalized",
        "marginalized_override",
    ]
    rows = [
        ["r1", "R1", "r1_university", "US", "2022-01-01", "1", ""],
        ["r2", "R2", "r1_university", "US", "2022-01-01", "1", "yes"],
    ]
    import_file(CommunityResource(), csv_text(header, rows), "csv")
    flags = dict(
        Community.objects.filter(slug__in=["r1", "r2"]).values_list("slug", "historically_marginalized")
    )
    assert flags == {"r1": False, "r2": True}


def test_networks_are_linked_and_unlinked_by_slug(served):
    header = ["slug", "name", "kind", "country", "joined_on", "networks"]
    import_file(
        CommunityResource(),
        csv_text(header, [["sol", "Sol", "university", "CL", "2021-02-01", "afr"]]),
        "csv",
    )
    assert list(Community.objects.get(slug="sol").networks.values_list("slug", flat=True)) == ["afr"]
    import_file(
        CommunityResource(), csv_text(header, [["sol", "Sol", "university", "CL", "2021-02-01", ""]]), "csv"
    )
    assert not Community.objects.get(slug="sol").networks.exists()


def test_usage_is_matched_by_hub_date_and_period(served):
    header = ["hub", "date", "period", "active_users"]
    result = import_file(
        ActiveUserCountResource(),
        csv_text(header, [["sol-hub", "2024-01-31", "30d", "120"], ["sol-hub", "2024-03-31", "30d", "90"]]),
        "csv",
    )
    assert [r.import_type for r in result.rows] == ["update", "new"]
    assert (
        ActiveUserCount.objects.get(hub__slug="sol-hub", date=dt.date(2024, 1, 31), period="30d").active_users
        == 120
    )


# --- all or nothing --------------------------------------------------------------------------

CASES = {
    "network": (
        NetworkResource,
        Network,
        ["slug", "name"],
        lambda n: [f"net-{n}", f"Net {n}"],
        {0: "not a slug!"},
        "slug",
        "Enter a valid “slug” consisting of letters, numbers, underscores or hyphens.",
    ),
    "community": (
        CommunityResource,
        Community,
        ["slug", "name", "kind", "country", "joined_on", "networks"],
        lambda n: [f"c-{n}", f"C {n}", "school", "KE", "2023-01-01", "afr"],
        {5: "afr,nowhere"},
        "networks",
        "no network with slug 'nowhere'.",
    ),
    "community dates": (
        CommunityResource,
        Community,
        ["slug", "name", "kind", "country", "joined_on", "left_on"],
        lambda n: [f"c-{n}", f"C {n}", "school", "KE", "2023-01-01", ""],
        {5: "2022-12-31"},
        "left_on",
        "Left on 2022-12-31 is before joined on 2023-01-01.",
    ),
    "hub": (
        HubResource,
        Hub,
        ["slug", "community", "name", "provider", "kind", "launched_on"],
        lambda n: [f"h-{n}", "north", f"H {n}", "gcp", "basehub", "2023-01-01"],
        {1: "atlantis"},
        "community",
        "no community with slug 'atlantis'.",
    ),
    "usage": (
        ActiveUserCountResource,
        ActiveUserCount,
        ["hub", "date", "period", "active_users"],
        lambda n: ["odd-hub", f"2024-0{n + 1}-28", "30d", "10"],
        {3: "-4"},
        "active_users",
        "Ensure this value is greater than or equal to 0.",
    ),
}


@pytest.mark.parametrize("position", [0, 1, 2], ids=["first", "middle", "last"])
@pytest.mark.parametrize("case", list(CASES))
def test_one_bad_row_anywhere_refuses_the_whole_file(served, case, position):
    resource_class, model, header, row, bad, field, reason = CASES[case]
    before = snapshot(model)
    rows = [row(n) for n in range(3)]
    for column, value in bad.items():
        rows[position][column] = value
    with pytest.raises(ImportFailed) as exc:
        import_file(resource_class(), csv_text(header, rows), "csv")
    assert exc.value.errors == [RowError(position + 1, field, reason)]
    assert snapshot(model) == before


def test_every_bad_row_is_reported(served):
    header = ["hub", "date", "period", "active_users"]
    rows = [
        ["nope", "2024-01-31", "30d", "1"],
        ["odd-hub", "2024-01-31", "1y", "1"],
        ["odd-hub", "2024-02-28", "7d", "x"],
    ]
    with pytest.raises(ImportFailed) as exc:
        import_file(ActiveUserCountResource(), csv_text(header, rows), "csv")
    assert [(e.row, e.field) for e in exc.value.errors] == [(1, "hub"), (2, "period"), (3, "active_users")]
    assert "no hub with slug 'nope'." in str(exc.value)
    assert "'x' is not a whole number." in str(exc.value)
    assert ActiveUserCount.objects.count() == 6


# --- the admin's two steps -------------------------------------------------------------------


def upload(text: str) -> SimpleUploadedFile:
    return SimpleUploadedFile("hubs.csv", text.encode(), content_type="text/csv")


HUB_HEADER = ["slug", "community", "name", "provider", "kind", "launched_on"]


def test_admin_hub_import_preview_shows_row_errors_and_writes_nothing(operations_client, served):
    rows = [
        ["a", "north", "A", "gcp", "basehub", "2023-01-01"],
        ["b", "atlantis", "B", "gcp", "basehub", "2023-01-01"],
    ]
    response = operations_client.post(
        reverse("admin:communities_hub_import"),
        {"import_file": upload(csv_text(HUB_HEADER, rows)), "format": "0", "resource": "0"},
    )
    assert response.status_code == 200
    assert "confirm_form" not in response.context
    assert "no community with slug &#x27;atlantis&#x27;." in response.content.decode()
    [invalid] = response.context["result"].invalid_rows
    assert (invalid.number, list(invalid.field_specific_errors)) == (2, ["community"])
    assert not Hub.objects.filter(slug__in=["a", "b"]).exists()


def test_admin_hub_import_writes_a_clean_file_after_confirmation(operations_client, served):
    rows = [
        ["a", "north", "A", "gcp", "basehub", "2023-01-01"],
        ["odd-hub", "odd", "Renamed", "azure", "daskhub", "2021-03-01"],
    ]
    response = operations_client.post(
        reverse("admin:communities_hub_import"),
        {"import_file": upload(csv_text(HUB_HEADER, rows)), "format": "0", "resource": "0"},
    )
    assert [r.import_type for r in response.context["result"].rows] == ["new", "update"]
    assert not Hub.objects.filter(slug="a").exists()
    response = operations_client.post(
        reverse("admin:communities_hub_process_import"), response.context["confirm_form"].initial
    )
    assert response.status_code == 302
    assert Hub.objects.get(slug="a").community.slug == "north"
    assert Hub.objects.get(slug="odd-hub").name == "Renamed"
