"""The public API's documentation for web developers: its own schema and docs page, its tag first in
the whole schema, examples that are the demo organization's real answers, and only the metrics
this site publishes."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.test import Client

from communities.models import Community
from opsite.kpis.api import examples
from opsite.kpis.api.public import badge_for
from opsite.kpis.demo_stories import load_demo_stories
from opsite.kpis.rollups import METRICS

pytestmark = pytest.mark.django_db

PUBLIC_SCHEMA = "/api/public/schema/?format=json"
FUNDING_METRICS = [name for name, metric in METRICS.items() if metric.funding]


def schema(url: str = PUBLIC_SCHEMA) -> dict:
    response = Client().get(url)
    assert response.status_code == 200
    return response.json()


def operations(document: dict) -> list[tuple[str, dict]]:
    return [(path, operation) for path, item in document["paths"].items() for operation in item.values()]


# --- the schema, without the demo -----------------------------------------------------------------


ENDPOINTS = {
    "/api/v1/public/kpis/",
    "/api/v1/public/series/{metric}/",
    "/api/v1/public/badges/{metric}.json",
    "/api/v1/public/stories/",
}
DATA_FILES = {"/api/v1/public/data/maus-by-hub.csv", "/api/v1/public/data/maus-unique-by-cluster.csv"}


@pytest.mark.parametrize("hub_data", [False, True])
def test_the_public_schema_holds_the_public_endpoints_alone_each_in_the_public_tag(settings, hub_data):
    settings.OPSITE_PUBLIC_HUB_DATA = hub_data

    document = schema()

    assert document["info"]["title"] == "opsite public API"
    # The data files only where the site publishes them.
    assert set(document["paths"]) == ENDPOINTS | (DATA_FILES if hub_data else set())
    assert all(operation["tags"] == ["public"] for _path, operation in operations(document))


def test_the_public_docs_page_reads_the_public_schema():
    response = Client().get("/api/public/docs/")

    assert response.status_code == 200
    assert b"opsite public API" in response.content


def test_the_whole_schema_lists_the_public_tag_first():
    assert schema("/api/schema/?format=json")["tags"][0]["name"] == "public"


def test_every_public_answer_is_documented_with_an_example(settings):
    settings.OPSITE_PUBLIC_HUB_DATA = True

    for path, operation in operations(schema()):
        content = operation["responses"]["200"]["content"]
        assert any(media.get("examples") for media in content.values()), path


@pytest.mark.parametrize("url", [PUBLIC_SCHEMA, "/api/schema/?format=json"])
def test_the_unpublished_metrics_are_not_documented_while_funding_is_not_public(settings, url):
    settings.OPSITE_PUBLIC_FUNDING = False
    public_part = json.dumps(schema(PUBLIC_SCHEMA))

    for name in FUNDING_METRICS:
        assert f'"{name}"' not in public_part and f"`{name}`" not in public_part
    assert "net_groups" not in public_part and "total_value" not in public_part
    metric = next(
        p
        for p in schema(url)["paths"]["/api/v1/public/series/{metric}/"]["get"]["parameters"]
        if p["name"] == "metric"
    )
    assert set(metric["schema"]["enum"]) == {name for name, m in METRICS.items() if not m.funding}


def test_with_funding_public_its_metrics_are_documented(settings):
    settings.OPSITE_PUBLIC_FUNDING = True

    document = json.dumps(schema())

    assert all(f'"{name}"' in document for name in FUNDING_METRICS)
    assert "net_groups" in document


def test_the_badge_example_is_the_badge_of_the_kpi_example():
    assert badge_for(METRICS["monthly-active-users"], examples.KPIS_2024) == examples.BADGE_2024


# --- the examples are the demo's answers ----------------------------------------------------------


def test_the_kpi_and_series_examples_are_the_demos_answers(personas):
    client = Client()

    assert client.get("/api/v1/public/kpis/?as_of=2024-12-31").json() == examples.KPIS_2024
    answers = [
        "/api/v1/public/series/merged-pull-requests/?interval=year&start=2024-01-01&end=2024-12-31",
        "/api/v1/public/series/monthly-active-users/?interval=quarter&start=2024-07-01&end=2024-12-31",
    ]
    assert [client.get(url).json() for url in answers] == [
        examples.PULL_REQUESTS_2024,
        examples.MONTHLY_USERS_2024_H2,
    ]


def test_the_story_example_is_the_demos_answer(personas):
    load_demo_stories(Community.objects.all())

    answer = Client().get("/api/v1/public/stories/?category=upstream_impact").json()

    assert answer == examples.demo_upstream_stories()


def test_the_data_file_example_is_the_start_of_the_demos_file_for_2024_12_31(personas, settings):
    settings.OPSITE_PUBLIC_HUB_DATA = True

    text = Client().get("/api/v1/public/data/maus-by-hub.csv").content.decode()

    rows = [row for row in csv.reader(io.StringIO(text)) if row[0] == "2024-12-31"]
    example = list(csv.reader(io.StringIO(examples.MAUS_BY_HUB_CSV)))
    assert example[0] == next(csv.reader(io.StringIO(text)))
    assert rows[: len(example) - 1] == example[1:]
