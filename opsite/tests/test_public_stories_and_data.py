"""Published impact stories and the public data files (docs/api.md "Public website kit"): a draft
is never public anywhere; the files parse as CSV with exactly their header, unique keys, counts
that are never negative, and a header that says when they are stale."""

from __future__ import annotations

import csv
import gzip
import io
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from communities.choices import HubKind, UsagePeriod
from communities.models import ActiveUserCount, ClusterUsage
from communities.tests.factories import ActiveUserCountFactory, CommunityFactory, HubFactory
from opsite.kpis import hub_data
from opsite.kpis.api.public import CACHE_CONTROL
from opsite.kpis.choices import StoryCategory
from opsite.kpis.models import ImpactStory
from opsite.kpis.tests.factories import ImpactStoryFactory
from opsite.tests.public_kit_support import (  # noqa: F401 (fixtures)
    ALLOWED_ORIGIN,
    AS_OF,
    cors,
    organization,
    pass_version_ttl,
    stored_organization,
    worker_clock,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("organization")]

STORIES = "/api/v1/public/stories/"
BY_HUB = "/api/v1/public/data/maus-by-hub.csv"
BY_CLUSTER = "/api/v1/public/data/maus-unique-by-cluster.csv"
DRAFT_TITLE = "An unannounced partnership"


def slugs(response) -> list[str]:
    return [story["slug"] for story in response.json()["results"]]


# --- stories --------------------------------------------------------------------------------------


def test_the_stories_are_the_published_ones_featured_first_then_newest():
    ImpactStoryFactory(slug="old", published_on=date(2023, 1, 1))
    ImpactStoryFactory(slug="new", published_on=date(2024, 6, 1))
    ImpactStoryFactory(slug="featured", published_on=date(2022, 1, 1), featured=True)
    ImpactStoryFactory(slug="draft", published=False, url="")

    response = Client().get(STORIES)

    assert response.status_code == 200
    assert response.json()["count"] == 3
    assert slugs(response) == ["featured", "new", "old"]


def test_a_story_shows_its_community_by_slug_and_name():
    ImpactStoryFactory(
        slug="s", community=CommunityFactory(slug="uni-x", name="University X"), tags=["gpu", "ai"]
    )

    [story] = Client().get(STORIES).json()["results"]

    assert story["community"] == {"slug": "uni-x", "name": "University X"}
    assert set(story) == {
        "slug",
        "title",
        "published_on",
        "community",
        "category",
        "tags",
        "summary",
        "url",
        "featured",
    }
    assert story["tags"] == ["gpu", "ai"]


def test_the_stories_come_in_pages_with_links_to_the_next_and_previous():
    ImpactStoryFactory.create_batch(5)
    client = Client()

    first = client.get(f"{STORIES}?limit=2").json()
    second = client.get(first["next"]).json()
    last = client.get(second["next"]).json()

    assert (first["count"], first["previous"], len(first["results"])) == (5, None, 2)
    assert second["previous"].endswith(f"{STORIES}?limit=2")
    assert last["next"] is None and len(last["results"]) == 1
    every = [s["slug"] for page in (first, second, last) for s in page["results"]]
    assert sorted(every) == sorted(ImpactStory.objects.values_list("slug", flat=True))


def test_the_stories_filter_by_category_and_by_whole_tag():
    ImpactStoryFactory(slug="a", category=StoryCategory.UPSTREAM_IMPACT, tags=["jupyterhub", "open-source"])
    ImpactStoryFactory(slug="b", category=StoryCategory.ORGANIZATION, tags=["jupyterhub-5", "impact"])
    client = Client()

    assert slugs(client.get(f"{STORIES}?category=upstream_impact")) == ["a"]
    assert slugs(client.get(f"{STORIES}?tag=jupyterhub")) == ["a"]
    assert slugs(client.get(f"{STORIES}?tag=jupyterhub-5&category=organization")) == ["b"]


@pytest.mark.parametrize(
    "query", ["category=gossip", "tag=no%20such", "limit=0", "limit=101", "offset=-1", "limit=1.5"]
)
def test_a_bad_parameter_is_a_400_naming_it(query):
    response = Client().get(f"{STORIES}?{query}")

    assert response.status_code == 400
    assert query.split("=")[0] in response.json()["detail"]


@pytest.mark.usefixtures("cors")
def test_the_stories_are_cached_like_the_rest_of_the_public_api():
    ImpactStoryFactory()
    client = Client()
    response = client.get(STORIES, headers={"Origin": ALLOWED_ORIGIN})

    assert response["Cache-Control"] == CACHE_CONTROL
    assert response["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    assert client.get(STORIES, headers={"If-None-Match": response["ETag"]}).status_code == 304
    ImpactStoryFactory()
    # A worker trusts the stories' version it read for a second, like a rollup's.
    assert client.get(STORIES, headers={"If-None-Match": response["ETag"]}).status_code == 304
    pass_version_ttl()
    assert client.get(STORIES, headers={"If-None-Match": response["ETag"]}).status_code == 200


# The public stories: 1 the stories' version, 2 the count, 3 the page (communities joined); no
# session, no user. Then, while the version holds, the page rendered for it.
STORIES_QUERIES = 3


def test_the_stories_cost_the_same_queries_for_3_as_for_30(django_assert_num_queries):
    for size in (3, 30):
        ImpactStoryFactory.create_batch(size - ImpactStory.objects.count(), community=CommunityFactory())
        pass_version_ttl()
        with django_assert_num_queries(STORIES_QUERIES):
            response = Client().get(f"{STORIES}?limit=100")
        assert len(response.json()["results"]) == size
        with django_assert_num_queries(0):
            again = Client().get(f"{STORIES}?limit=100")
        pass_version_ttl()
        with django_assert_num_queries(1):
            checked = Client().get(f"{STORIES}?limit=100")
        assert again.content == checked.content == response.content


def public_answers(client: Client) -> dict[str, str]:
    """Every public answer a story could appear in, by URL."""
    urls = [
        STORIES,
        f"{STORIES}?limit=100",
        *(f"{STORIES}?category={category}" for category in StoryCategory.values),
        f"{STORIES}?tag=secret",
        "/kpis/",
        "/widgets/kpis.js",
        reverse("widgets:card", args=["monthly-active-users"]),
        "/api/v1/public/kpis/",
        "/api/public/schema/?format=json",
    ]
    return {url: client.get(url).content.decode() for url in urls}


def test_a_draft_story_never_appears_publicly():
    ImpactStoryFactory(slug="published-one", tags=["secret", "impact"])
    draft = ImpactStoryFactory(
        slug="unannounced", title=DRAFT_TITLE, published=False, featured=True, tags=["secret", "partners"]
    )
    client = Client()

    answers = public_answers(client)
    assert "published-one" in answers[STORIES] and "published-one" in answers["/kpis/"]
    for url, body in answers.items():
        assert DRAFT_TITLE not in body and "unannounced" not in body, url

    # Published, it shows; back to a draft, it is gone again.
    for published in (True, False):
        draft.published = published
        draft.save()
        pass_version_ttl()
        answers = public_answers(client)
        for url in (STORIES, "/kpis/"):
            assert (DRAFT_TITLE in answers[url]) is published, url


# --- the data files -------------------------------------------------------------------------------


@pytest.fixture
def hub_data_on(settings):
    settings.OPSITE_PUBLIC_HUB_DATA = True


def rows_of(response) -> tuple[list[str], list[dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(response.content.decode()))
    return list(reader.fieldnames or []), list(reader)


@pytest.mark.parametrize("url", [BY_HUB, BY_CLUSTER])
def test_the_data_files_are_not_served_while_the_setting_is_off(url):
    response = Client().get(url)

    assert response.status_code == 404
    assert ".csv" not in Client().get("/kpis/").content.decode()


@pytest.mark.parametrize(("url", "name"), [(BY_HUB, "maus-by-hub"), (BY_CLUSTER, "maus-unique-by-cluster")])
def test_each_file_parses_with_exactly_its_header_unique_keys_and_counts_never_negative(
    hub_data_on, url, name
):
    ClusterUsage.objects.create(cluster="shared", date=AS_OF, unique_users=17)
    ClusterUsage.objects.create(cluster="shared", date=AS_OF - timedelta(days=30), unique_users=0)
    ClusterUsage.objects.create(cluster="other", date=AS_OF, unique_users=3)
    file = hub_data.FILES[name]

    response = Client().get(url)
    header, rows = rows_of(response)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response.content.decode().splitlines()[0] == ",".join(file.header)
    assert tuple(header) == file.header
    keys = [tuple(row[column] for column in file.key) for row in rows]
    assert rows and len(keys) == len(set(keys))
    count_column = file.header[2]
    assert all(int(row[count_column]) >= 0 for row in rows)
    assert all(date.fromisoformat(row["date"]) for row in rows)
    assert keys == sorted(keys)


def test_the_hub_file_is_every_30_day_sample_of_a_hub_but_binderhubs(hub_data_on):
    binder = HubFactory(kind=HubKind.BINDERHUB, slug="binder", cluster="shared")
    ActiveUserCountFactory(hub=binder, date=AS_OF, period=UsagePeriod.MONTH, active_users=99)

    _, rows = rows_of(Client().get(BY_HUB))

    expected = (
        ActiveUserCount.objects.filter(period=UsagePeriod.MONTH)
        .exclude(hub__kind=HubKind.BINDERHUB)
        .values_list("date", "hub__slug", "active_users", "hub__cluster")
    )
    assert sorted((r["date"], r["hub"], int(r["users"]), r["cluster"]) for r in rows) == sorted(
        (day.isoformat(), hub, users, cluster) for day, hub, users, cluster in expected
    )
    assert "binder" not in {row["hub"] for row in rows}


@pytest.mark.parametrize(
    ("today", "stale"),
    [
        (AS_OF + timedelta(days=7), False),
        (AS_OF + timedelta(days=8), True),
        (AS_OF + timedelta(days=400), True),
    ],
)
def test_a_file_whose_newest_row_is_over_7_days_old_says_it_is_stale(hub_data_on, today, stale):
    with time_machine.travel(datetime.combine(today, datetime.min.time(), tzinfo=UTC) + timedelta(hours=12)):
        response = Client().get(BY_HUB)

    assert response.status_code == 200
    assert response["Opsite-Data-Newest"] == AS_OF.isoformat()
    assert (response.get("Opsite-Data-Stale") == "true") is stale


def test_an_empty_file_has_its_header_and_says_it_is_stale(hub_data_on):
    response = Client().get(BY_CLUSTER)

    assert response.content.decode() == "date,cluster,unique_users\r\n"
    assert response["Opsite-Data-Stale"] == "true"
    assert "Opsite-Data-Newest" not in response


@pytest.mark.usefixtures("cors")
def test_a_file_is_cached_and_its_etag_changes_with_its_rows(hub_data_on):
    client = Client()
    first = client.get(BY_HUB, headers={"Origin": ALLOWED_ORIGIN})

    assert first["Cache-Control"] == CACHE_CONTROL
    assert "Opsite-Data-Stale" in first["Access-Control-Expose-Headers"]
    assert client.get(BY_HUB, headers={"If-None-Match": first["ETag"]}).status_code == 304
    sample = ActiveUserCount.objects.filter(period=UsagePeriod.MONTH).first()
    sample.active_users += 1
    sample.save()
    pass_version_ttl()
    second = client.get(BY_HUB, headers={"If-None-Match": first["ETag"]})
    assert second.status_code == 200
    assert second["ETag"] != first["ETag"]


def test_a_client_that_takes_gzip_gets_the_same_file_gzipped_with_its_own_etag(hub_data_on):
    client = Client()
    plain = client.get(BY_HUB)
    packed = client.get(BY_HUB, headers={"Accept-Encoding": "br, gzip;q=0.9, deflate"})

    assert "Content-Encoding" not in plain
    assert packed["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.content) == plain.content
    assert plain.content.startswith(b"date,")
    assert "Accept-Encoding" in plain["Vary"] and "Accept-Encoding" in packed["Vary"]
    assert packed["ETag"] != plain["ETag"]
    assert packed["Opsite-Data-Newest"] == plain["Opsite-Data-Newest"]
    # Each representation's ETag is its own: a client holding the plain one gets the gzipped file.
    again = client.get(BY_HUB, headers={"Accept-Encoding": "gzip", "If-None-Match": packed["ETag"]})
    other = client.get(BY_HUB, headers={"Accept-Encoding": "gzip", "If-None-Match": plain["ETag"]})
    assert (again.status_code, other.status_code) == (304, 200)


# Serving a file once the worker's trust has lapsed: 1 its samples' signature, 2 the hubs'.
# Rendering it after a change: 3 the rows.
FILE_QUERIES = 3


def test_a_file_costs_the_same_queries_for_few_rows_as_for_many(hub_data_on, django_assert_num_queries):
    for hubs in (1, 20):
        for _ in range(hubs):
            ActiveUserCountFactory(hub=HubFactory(), date=AS_OF, period=UsagePeriod.MONTH, active_users=4)
        pass_version_ttl()
        with django_assert_num_queries(FILE_QUERIES):
            assert Client().get(BY_HUB).status_code == 200
        with django_assert_num_queries(0):
            Client().get(BY_HUB)
