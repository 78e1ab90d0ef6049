"""Every door writes communities, hubs and usage through the same services (docs/architecture.md).

The same rule, broken through the API, the admin form, the admin inline, an import and the batch
endpoint, is refused on the same field with the same message, and nothing is written; a write
that succeeds sets the same derived columns and asks for the same recompute whichever door it
came in by.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.urls import reverse

from communities.choices import Region
from communities.models import ActiveUserCount, Community, Hub, PrometheusSource
from communities.resources import ActiveUserCountResource, CommunityResource, HubResource
from communities.usage_admin import PrometheusSourceResource
from opsite.core import testing
from opsite.core.testing import admin_url as url
from opsite.core.testing import exported_row, form_data

from .factories import CommunityFactory, HubFactory

pytestmark = pytest.mark.django_db

Errors = dict[str, list[str]] | None  # what a door refused, by field; None when it wrote


@pytest.fixture
def recomputed():
    """Run a door's write and its commit callbacks; return what it gave and the kinds enqueued."""
    with testing.enqueues_recorded() as kinds:

        def run(write: Callable[[], Any]) -> tuple[Any, list[str]]:
            # What the setup asked for waits for the test's transaction, which never commits; run it
            # now, so that the door's write starts a batch of its own rather than joining that one.
            testing.run_on_commit_now()
            return testing.enqueued_by(kinds, write)

        yield run


# --- the doors ----------------------------------------------------------------------------------


def api(client, method: str, name: str, data: Any, *args: Any) -> Errors:
    path = reverse(f"communities-api:{name}", args=args)
    response = getattr(client, method)(path, data, content_type="application/json")
    return testing.api_errors(response, accepted=(200, 201))


def admin_form(client, path: str, changes: dict[str, Any]) -> Errors:
    return testing.admin_errors(client.post(path, form_data(client.get(path)) | changes))


def imported(resource, row: dict[str, str]) -> Errors:
    return testing.import_errors(resource, testing.csv_text(list(row), [list(row.values())]))


def inline_row(client, path: str, prefix: str, fields: dict[str, str]) -> dict[str, Any]:
    """The change form at ``path`` with one more inline row of ``fields``."""
    return testing.with_inline_row(form_data(client.get(path)), prefix, fields)


# --- communities: a rule, and derived columns ---------------------------------------------------

NAIROBI = {"slug": "uni-nairobi", "name": "University of Nairobi", "kind": "school", "country": "KE"}
NAIROBI |= {"joined_on": "2023-09-01"}


def create_community(door: str, client, fields: dict[str, str]) -> Errors:
    if door == "api":
        return api(client, "post", "community-list", fields)
    if door == "admin":
        return admin_form(client, url(Community, "add"), fields)
    return imported(CommunityResource(), {"left_on": "", **fields})


def update_community(door: str, client, community: Community, changes: dict[str, str]) -> Errors:
    if door == "api":
        return api(client, "patch", "community-detail", changes, community.slug)
    if door == "admin":
        return admin_form(client, url(Community, "change", community.pk), changes)
    queryset = Community.objects.filter(pk=community.pk)
    return imported(CommunityResource(), exported_row(CommunityResource(), queryset) | changes)


DOORS = ["api", "admin", "import"]
LEFT_BEFORE_JOINING = {"left_on": ["Left on 2023-08-31 is before joined on 2023-09-01."]}


@pytest.mark.parametrize("door", DOORS)
def test_leaving_before_joining_is_refused_alike_by_every_door(super_client, recomputed, door):
    errors, kinds = recomputed(
        lambda: create_community(door, super_client, {**NAIROBI, "left_on": "2023-08-31"})
    )
    assert errors == LEFT_BEFORE_JOINING
    assert not Community.objects.exists()
    assert kinds == []

    community = CommunityFactory(joined_on=dt.date(2023, 9, 1))
    errors, kinds = recomputed(
        lambda: update_community(door, super_client, community, {"left_on": "2023-08-31"})
    )
    assert errors == LEFT_BEFORE_JOINING
    community.refresh_from_db()
    assert community.left_on is None
    assert kinds == []


@pytest.mark.parametrize("door", DOORS)
def test_a_new_community_gets_its_derived_columns_and_a_recompute_by_every_door(
    super_client, recomputed, door
):
    errors, kinds = recomputed(lambda: create_community(door, super_client, {**NAIROBI, "region": ""}))
    assert errors is None
    community = Community.objects.get()
    assert (community.region, community.historically_marginalized) == (Region.AFRICA, True)
    assert kinds == ["rollups"]


@pytest.mark.parametrize(
    ("changes", "derived"),
    [
        ({"kind": "school"}, (Region.NORTH_AMERICA, True)),
        ({"country": "BR", "region": ""}, (Region.LATIN_AMERICA, True)),
        ({"marginalized_override": "true"}, (Region.NORTH_AMERICA, True)),
    ],
    ids=["kind", "country", "override"],
)
@pytest.mark.parametrize("door", DOORS)
def test_a_changed_community_is_derived_again_by_every_door(super_client, recomputed, door, changes, derived):
    community = CommunityFactory(kind="r1_university", country="US")
    assert (community.region, community.historically_marginalized) == (Region.NORTH_AMERICA, False)
    if door == "admin" and "marginalized_override" in changes:
        changes = {"marginalized_override": "true"}  # the admin's yes/no/unknown select
    if door == "api" and "marginalized_override" in changes:
        changes = {"marginalized_override": True}
    errors, kinds = recomputed(lambda: update_community(door, super_client, community, changes))
    assert errors is None
    community.refresh_from_db()
    assert (community.region, community.historically_marginalized) == derived
    assert kinds == ["rollups"]


@pytest.mark.parametrize("door", ["api", "admin"])
def test_a_new_country_alone_derives_the_region_again_by_every_form(super_client, recomputed, door):
    # A file's region cell is always given (blank derives it, as above); a form and a PATCH may
    # change the country alone, which means "it is there now", so its old region goes too.
    community = CommunityFactory(kind="r1_university", country="US")
    errors, _ = recomputed(lambda: update_community(door, super_client, community, {"country": "BR"}))
    assert errors is None
    community.refresh_from_db()
    assert (community.region, community.historically_marginalized) == (Region.LATIN_AMERICA, True)


def delete_community(door: str, client, community: Community) -> int:
    if door == "api":
        return client.delete(reverse("communities-api:community-detail", args=[community.slug])).status_code
    if door == "admin":
        return testing.admin_delete(client, community).status_code
    return testing.admin_delete_selected(client, community).status_code


DELETE_DOORS = ["api", "admin", "admin bulk action"]


@pytest.mark.parametrize(("door", "refused"), zip(DELETE_DOORS, [409, 200, 200], strict=True))
def test_a_community_is_deleted_unless_it_has_hubs_by_every_door(super_client, recomputed, door, refused):
    hub = HubFactory()
    status, kinds = recomputed(lambda: delete_community(door, super_client, hub.community))
    assert (status, kinds) == (refused, [])
    assert Community.objects.filter(pk=hub.community.pk).exists()

    community = CommunityFactory()
    status, kinds = recomputed(lambda: delete_community(door, super_client, community))
    assert (status, kinds) == (204 if door == "api" else 302, ["rollups"])
    assert not Community.objects.filter(pk=community.pk).exists()


# --- hubs, in their own form and in their community's -------------------------------------------

HUB = {"slug": "nairobi-hub", "name": "Nairobi hub", "provider": "gcp", "kind": "basehub"}
HUB |= {"launched_on": "2023-01-01", "url": "", "cluster": ""}
RETIRED_BEFORE_LAUNCH = {"retired_on": ["Retired on 2022-12-31 is before launched on 2023-01-01."]}


def create_hub(door: str, client, community: Community, fields: dict[str, str]) -> Errors:
    if door == "api":
        return api(client, "post", "hub-list", {"community": community.slug, **fields})
    if door == "admin":
        return admin_form(client, url(Hub, "add"), {"community": community.pk, **fields})
    if door == "admin inline":
        path = url(Community, "change", community.pk)
        return admin_form(client, path, inline_row(client, path, "hubs", fields))
    return imported(HubResource(), {"community": community.slug, **fields})


def update_hub(door: str, client, hub: Hub, changes: dict[str, str]) -> Errors:
    if door == "api":
        return api(client, "patch", "hub-detail", changes, hub.slug)
    if door == "admin":
        return admin_form(client, url(Hub, "change", hub.pk), changes)
    if door == "admin inline":
        path = url(Community, "change", hub.community.pk)
        return admin_form(client, path, {f"hubs-0-{name}": value for name, value in changes.items()})
    queryset = Hub.objects.filter(pk=hub.pk)
    return imported(HubResource(), exported_row(HubResource(), queryset) | changes)


HUB_DOORS = ["api", "admin", "admin inline", "import"]


@pytest.mark.parametrize("door", HUB_DOORS)
def test_retiring_before_launch_is_refused_alike_by_every_door(super_client, recomputed, door):
    community = CommunityFactory()
    fields = {**HUB, "retired_on": "2022-12-31"}
    errors, kinds = recomputed(lambda: create_hub(door, super_client, community, fields))
    assert (errors, kinds) == (RETIRED_BEFORE_LAUNCH, [])
    assert not Hub.objects.exists()

    hub = HubFactory(community=community, launched_on=dt.date(2023, 1, 1))
    errors, kinds = recomputed(lambda: update_hub(door, super_client, hub, {"retired_on": "2022-12-31"}))
    assert (errors, kinds) == (RETIRED_BEFORE_LAUNCH, [])
    hub.refresh_from_db()
    assert hub.retired_on is None


@pytest.mark.parametrize("door", HUB_DOORS)
def test_a_new_hub_asks_for_the_rollups_and_the_runway_by_every_door(super_client, recomputed, door):
    community = CommunityFactory()
    errors, kinds = recomputed(lambda: create_hub(door, super_client, community, HUB))
    # Its users price usage-priced contracts: the runway's input as well as the rollups'.
    assert (errors, kinds) == (None, ["rollups", "runway"])
    assert Hub.objects.get().community == community


# --- usage: a sample at a time, or a batch ------------------------------------------------------

SAMPLE = {"date": "2024-01-31", "period": "30d", "active_users": "12"}


def record_sample(door: str, client, hub: Hub, fields: dict[str, str]) -> Errors:
    if door == "api":
        return api(client, "post", "active-user-count-list", {"hub": hub.slug, **fields})
    if door == "admin":
        return admin_form(client, url(ActiveUserCount, "add"), {"hub": hub.pk, **fields})
    if door == "import":
        return imported(ActiveUserCountResource(), {"hub": hub.slug, **fields})
    row = {"hub": hub.slug, **fields, "active_users": int(fields["active_users"])}
    return api(client, "post", "active-user-count-batch", [row])


@pytest.mark.parametrize(
    ("door", "message"),
    [
        ("api", "Ensure this value is greater than or equal to 0."),
        ("admin", "Ensure this value is greater than or equal to 0."),
        ("import", "Ensure this value is greater than or equal to 0."),
        # The batch names each bad row by its index (docs/api.md "Batch endpoints").
        ("batch", "row 0: -1 is not a number of users (a whole number, 0 or more)."),
    ],
)
def test_a_negative_count_is_refused_on_its_field_by_every_door(super_client, recomputed, door, message):
    hub = HubFactory()
    errors, kinds = recomputed(
        lambda: record_sample(door, super_client, hub, {**SAMPLE, "active_users": "-1"})
    )
    assert (errors, kinds) == ({"active_users": [message]}, [])
    assert not ActiveUserCount.objects.exists()


@pytest.mark.parametrize("door", ["api", "admin", "import", "batch"])
def test_a_new_sample_asks_for_the_rollups_and_the_runway_once_by_every_door(super_client, recomputed, door):
    hub = HubFactory()
    errors, kinds = recomputed(lambda: record_sample(door, super_client, hub, SAMPLE))
    assert (errors, kinds) == (None, ["rollups", "runway"])
    assert ActiveUserCount.objects.get().active_users == 12


# --- the usage importer's sources -----------------------------------------------------------------

SOURCE = {"cluster": "gcp-us", "url": "https://prometheus.gcp-us.example.org", "auth": "bearer"}
SOURCE |= {"username": "", "secret_env": "", "hub_label": "namespace", "hub_mapping": "{}"}
NO_SECRET = {"secret_env": ["Bearer token needs the name of the variable holding the secret."]}


@pytest.mark.parametrize("door", DOORS)
def test_a_source_without_its_secret_is_refused_alike_by_every_door(super_client, door):
    if door == "api":
        errors = api(super_client, "post", "prometheus-source-list", {**SOURCE, "hub_mapping": {}})
    elif door == "admin":
        errors = admin_form(super_client, url(PrometheusSource, "add"), {**SOURCE, "enabled": "on"})
    else:
        errors = imported(PrometheusSourceResource(), {**SOURCE, "enabled": "1"})
    assert errors == NO_SECRET
    assert not PrometheusSource.objects.exists()
