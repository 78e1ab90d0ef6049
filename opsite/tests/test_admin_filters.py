"""Finding records in the admin: communities by country name, and list filters that offer only the
values some row has, each under its own title (opsite/core/admin.py, opsite/core/countries.py).

The last tests read ``admin.site._registry``: a new admin is covered the day it is registered.
"""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.admin.filters import AllValuesFieldListFilter, FieldListFilter
from django.contrib.admin.utils import get_fields_from_path
from django.test import Client, RequestFactory

from communities.models import Community
from communities.tests.factories import CommunityFactory, HubFactory
from opsite.core.admin import (
    InUseBooleanFieldListFilter,
    InUseChoicesFieldListFilter,
    InUseRelatedFieldListFilter,
)
from opsite.core.countries import COUNTRIES, country_codes_matching
from opsite.tests.shared_rows import loaded_demo

COMMUNITIES = "/admin/communities/community/"
REGISTRY = dict(sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label))
LABELS = [model._meta.label for model in REGISTRY]
OPSITE_LABELS = [label for label in LABELS if label.split(".")[0] not in ("auth", "authtoken")]
# The filters whose choices are values of the rows (not periods such as "Past 7 days", or a
# filter's own questions such as "Overdue").
VALUE_FILTERS = (
    InUseChoicesFieldListFilter,
    InUseBooleanFieldListFilter,
    InUseRelatedFieldListFilter,
    AllValuesFieldListFilter,
)


# --- country names ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("term", "codes"),
    [
        ("Kenya", {"KE"}),
        ("kenya", {"KE"}),
        ("KE", {"KE"}),
        ("south", {"ZA", "KR"}),
        ("turkiye", {"TR"}),
        ("Turkey", {"TR"}),
        ("cote d'ivoire", {"CI"}),
        ("UK", {"GB"}),
        ("uni", set()),  # three letters: not the start of "United ..."
        ("of", set()),
        ("", set()),
    ],
)
def test_a_search_term_names_the_countries_people_mean(term, codes):
    assert country_codes_matching(term) == codes


def test_every_country_is_found_by_its_own_name():
    for code, (name, _region) in COUNTRIES.items():
        assert code in country_codes_matching(name), name


def search(client: Client, term: str) -> list[str]:
    response = client.get(COMMUNITIES, {"q": term})
    assert response.status_code == 200
    return sorted(c.name for c in response.context["cl"].result_list)


@pytest.fixture
def kenya_and_germany(db):
    CommunityFactory(name="Nairobi Data Lab", slug="nairobi", country="KE")
    CommunityFactory(name="Berlin Open Science", slug="berlin", country="DE")


def test_communities_are_found_by_the_name_of_their_country(operations_client, kenya_and_germany):
    assert search(operations_client, "Kenya") == ["Nairobi Data Lab"]
    assert search(operations_client, "kenya") == ["Nairobi Data Lab"]
    assert search(operations_client, "Germany") == ["Berlin Open Science"]
    # Their own names are searched as before, and a term naming no country finds no country.
    assert search(operations_client, "Berlin") == ["Berlin Open Science"]
    assert search(operations_client, "Lab") == ["Nairobi Data Lab"]
    assert search(operations_client, "France") == []


def test_a_country_search_finds_each_community_once(operations_client, kenya_and_germany):
    nairobi = Community.objects.get(slug="nairobi")
    HubFactory(community=nairobi, name="Kenya hub one")
    HubFactory(community=nairobi, name="Kenya hub two")
    assert search(operations_client, "Kenya") == ["Nairobi Data Lab"]


# --- filters: values in use, distinct titles ---------------------------------------------------


def filter_choices(response, title: str) -> list[str]:
    changelist = response.context["cl"]
    spec = next(spec for spec in changelist.filter_specs if spec.title == title)
    return [str(choice["display"]) for choice in spec.choices(changelist)]


def test_the_country_filter_lists_only_the_countries_of_some_community(operations_client, kenya_and_germany):
    response = operations_client.get(COMMUNITIES)
    assert filter_choices(response, "country") == ["All", "Germany", "Kenya"]


def test_a_filter_with_one_value_in_use_is_left_out_until_more_appear(operations_client):
    CommunityFactory(country="KE")
    titles = [spec.title for spec in operations_client.get(COMMUNITIES).context["cl"].filter_specs]
    assert "country" not in titles
    CommunityFactory(country="GH")
    titles = [spec.title for spec in operations_client.get(COMMUNITIES).context["cl"].filter_specs]
    assert "country" in titles


def test_an_applied_filter_stays_to_be_cleared(operations_client):
    CommunityFactory(country="KE")
    response = operations_client.get(COMMUNITIES, {"country__exact": "KE"})
    assert filter_choices(response, "country") == ["All", "Kenya"]


def test_the_hub_list_tells_its_kind_from_its_community_kind(operations_client):
    HubFactory(kind="basehub", community=CommunityFactory(kind="r1_university"))
    HubFactory(kind="binderhub", community=CommunityFactory(kind="nonprofit"))
    titles = [
        spec.title for spec in operations_client.get("/admin/communities/hub/").context["cl"].filter_specs
    ]
    assert "kind" in titles and "community kind" in titles


def all_filter_titles(model_admin, user) -> list[str]:
    """The title of every filter of the changelist, shown or not (a filter with one value in use is
    left out today and shown tomorrow), built as Django's ChangeList builds them."""
    request = RequestFactory().get("/")
    request.user = user
    model = model_admin.model
    titles = []
    for item in model_admin.get_list_filter(request):
        if isinstance(item, list | tuple):
            path, filter_class = item
        elif isinstance(item, str):
            path, filter_class = item, FieldListFilter.create
        else:
            titles.append(str(item(request, {}, model, model_admin).title))
            continue
        field = get_fields_from_path(model, path)[-1]
        titles.append(str(filter_class(field, request, {}, model, model_admin, field_path=path).title))
    return titles


@pytest.mark.parametrize("label", LABELS)
def test_the_filters_of_every_changelist_have_distinct_titles(superuser, label):
    model_admin = next(a for m, a in REGISTRY.items() if m._meta.label == label)
    titles = all_filter_titles(model_admin, superuser)
    assert len(titles) == len(set(titles)), f"{label}: {titles}"


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The demo organization, loaded once for this module and rolled back after it."""
    with loaded_demo(django_db_blocker):
        yield


@pytest.mark.parametrize("label", OPSITE_LABELS)
def test_every_value_a_filter_offers_finds_some_row(demo, super_client, label):
    model = next(m for m in REGISTRY if m._meta.label == label)
    url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
    response = super_client.get(url)
    assert response.status_code == 200
    changelist = response.context["cl"]
    for spec in changelist.filter_specs:
        if not isinstance(spec, VALUE_FILTERS):
            continue
        for choice in spec.choices(changelist):
            if choice["selected"]:  # "All"
                continue
            narrowed = super_client.get(url + choice["query_string"])
            assert narrowed.status_code == 200
            assert narrowed.context["cl"].result_count >= 1, f"{label}: {spec.title} = {choice['display']}"
