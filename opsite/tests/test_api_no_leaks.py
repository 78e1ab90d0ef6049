"""Nothing sensitive reaches Operations or the public through the API (docs/roles.md).

Compensation, cash positions and the runway are for Finance, Leadership and superusers. This walks
every answer an Operations user can get (each readable list and one record of it, the other
readable routes, OPTIONS metadata, refusals, ordering and filter parameters naming sensitive
fields) and every public answer an anonymous visitor can get, and scans the JSON, keys and values
at every depth, for the names of sensitive fields and for the demo's salary and cash figures.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.apps import apps
from django.db import models
from django.test import Client

from funding.models import CashPosition, RunwayAlert, RunwaySnapshot
from opsite.core.periods import INTERVALS
from opsite.core.roles import OPERATIONS
from opsite.kpis import rollups
from opsite.tests.test_api_matrix import (
    Route,
    api_routes,
    expectations,
    role_permissions,
    route_url,
)
from staff.models import Compensation

pytestmark = pytest.mark.django_db

SENSITIVE_KEYS = {
    "compensation",
    "compensations",
    "salary",
    "annual_salary",
    "benefits_rate",
    "balance",
    "opening_balance",
    "cash",
    "runway",
    "months",
    "cash_out_on",
    "forward_burn",
}
# A key containing one of these is sensitive too ("latest_runway_months", "cash_position").
SENSITIVE_PARTS = ("salary", "compensation", "runway", "cash", "benefits")
# Orderings and filters that would rank or select records by a sensitive figure, were they honoured.
SIDE_CHANNEL_ORDERINGS = (
    "annual_salary",
    "compensations__annual_salary",
    "benefits_rate",
    "compensations__benefits_rate",
    "salary",
    "current_salary",
    "balance",
    "months",
    "cash_out_on",
    "latest_runway_months",
)
SIDE_CHANNEL_FILTERS = (
    "annual_salary__gte=150000",
    "compensations__annual_salary__gte=150000",
    "salary_min=150000",
    "balance__gte=1000000",
    "months__lte=12",
)


# --- what counts as a leak ------------------------------------------------------------------------


def walk_json(value: Any, path: str = "$") -> Iterator[tuple[str, str | None, Any]]:
    """Every (path, key, value) in a JSON document; ``key`` is None for list items and scalars."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield f"{path}.{key}", key, item
            yield from walk_json(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from walk_json(item, f"{path}[{index}]")


def sensitive_key(key: str) -> bool:
    lowered = key.lower()
    return lowered in SENSITIVE_KEYS or any(part in lowered for part in SENSITIVE_PARTS)


def _decimals_visible_to_operations() -> set[Decimal]:
    """Every amount Operations may legitimately see: the decimal columns of the models it reads."""
    visible = set()
    for perm in role_permissions()[OPERATIONS]:
        app_label, codename = perm.split(".")
        if not codename.startswith("view_"):
            continue
        model = apps.get_model(app_label, codename.removeprefix("view_"))
        for field in model._meta.concrete_fields:
            if isinstance(field, models.DecimalField):
                visible.update(
                    v for v in model._default_manager.values_list(field.name, flat=True) if v is not None
                )
    return visible


def sensitive_figures() -> set[Decimal]:
    """The demo's salaries, cash balances and runway amounts (1,000 and up: smaller numbers, such as
    months, are too common to tell apart from harmless figures; their keys are checked instead),
    less any amount that also appears where Operations may see it."""
    figures: set[Decimal] = set(Compensation.objects.values_list("annual_salary", flat=True))
    figures |= set(CashPosition.objects.values_list("balance", flat=True))
    for result in RunwaySnapshot.objects.values_list("result", flat=True):
        figures |= {Decimal(result[name]) for name in ("opening_balance", "forward_burn") if result.get(name)}
    figures |= {months for months in RunwayAlert.objects.values_list("months", flat=True) if months}
    return {figure for figure in figures if figure >= 1000} - _decimals_visible_to_operations()


def spellings(figures: set[Decimal]) -> set[str]:
    """How an amount may be written: 165000.00, 165000, 165,000.00, 165,000."""
    found = set()
    for figure in figures:
        found |= {f"{figure:.2f}", f"{figure:,.2f}"}
        if figure == figure.to_integral_value():
            found |= {str(int(figure)), f"{int(figure):,}"}
    return found


def figure_pattern(written: set[str]) -> re.Pattern[str]:
    """Any of the spellings, as a whole number in a text: 110000 is not inside 1100000.00."""
    alternatives = "|".join(re.escape(text) for text in sorted(written, key=len, reverse=True))
    return re.compile(rf"(?<![0-9.,])(?:{alternatives})(?![0-9,]|\.[0-9])")


def leaks(document: Any, figures: set[Decimal], written: set[str]) -> list[str]:
    """The sensitive keys and figures in ``document``, each with its path."""
    pattern = figure_pattern(written)
    found = []
    for path, key, value in walk_json(document):
        if key is not None and sensitive_key(key):
            found.append(f"key {path}")
        if isinstance(value, bool) or value is None:
            continue
        # A row's id is the database's sequence number, no figure of anyone's: on PostgreSQL, whose
        # sequences a rolled-back test does not rewind, it may equal a salary by chance.
        if key is not None and (key == "id" or key.endswith("_id")) and isinstance(value, int):
            continue
        if isinstance(value, int | float) and Decimal(str(value)) in figures:
            found.append(f"figure {path} = {value}")
        elif isinstance(value, str) and pattern.search(value):
            found.append(f"figure {path} = {value!r}")
    return found


@pytest.fixture
def figures(personas) -> set[Decimal]:
    found = sensitive_figures()
    assert found, "the demo has salaries and cash balances to look for"
    return found


def test_the_scan_finds_a_planted_salary_and_a_sensitive_key(figures):
    salary = max(figures)
    # A row's id equal to the salary by chance is no leak; the same number as a figure is.
    planted = {
        "results": [
            {"id": int(salary), "name": "x", "nested": {"total": f"{salary:.2f}"}},
            {"annual_salary": "1"},
        ]
    }

    assert leaks(planted, figures, spellings(figures)) == [
        f"figure $.results[0].nested.total = '{salary:.2f}'",
        "key $.results[1].annual_salary",
    ]


# --- Operations ----------------------------------------------------------------------------------


def readable_by_operations(route: Route, method: str) -> bool:
    expect = (expectations(route) or {}).get(method)
    return bool(expect) and (expect.perms is None or expect.perms <= role_permissions()[OPERATIONS])


def operations_routes(method: str) -> list[Route]:
    # A format suffix (members.json) answers the same document as the plain route.
    return [
        route
        for route in api_routes()
        if not route.has_format_suffix and readable_by_operations(route, method)
    ]


def _is_api_root(route: Route) -> bool:
    return route.name.endswith(":api-root")


def test_no_answer_operations_can_read_holds_a_sensitive_key_or_figure(personas, figures, caplog, settings):
    # The public data files too (off by default): the most the site ever publishes.
    settings.OPSITE_PUBLIC_HUB_DATA = True
    client = personas["operations"].make_client()
    written = spellings(figures)
    pattern = figure_pattern(written)
    found, read = [], 0

    for route in operations_routes("GET"):
        if _is_api_root(route):
            continue  # links to the app's routes, checked below
        url = route_url(route).replace("?limit=1", "")
        response = client.get(url)
        assert response.status_code == 200, url
        if response["Content-Type"].startswith("application/json"):
            found += [f"{url} {leak}" for leak in leaks(response.json(), figures, written)]
            read += 1
        elif response["Content-Type"].startswith("text/csv"):
            found += [f"{url} {match}" for match in pattern.findall(response.content.decode())]
    log = "\n".join(record.getMessage() for record in caplog.records)

    assert read > 20
    assert not found, "\n".join(found)
    assert not pattern.search(log)


def test_no_options_metadata_operations_can_read_names_a_sensitive_field(personas, figures):
    client = personas["operations"].make_client()

    found = []
    for route in operations_routes("OPTIONS"):
        url = route_url(route)
        response = client.options(url)
        assert response.status_code == 200, url
        if not response["Content-Type"].startswith("application/json"):
            continue  # the docs page: an Allow header, no body
        found += [f"{url} {leak}" for leak in leaks(response.json(), figures, spellings(figures))]

    assert not found, "\n".join(found)


def test_the_api_indexes_operations_reads_hold_links_only(personas):
    client = personas["operations"].make_client()

    for route in [route for route in operations_routes("GET") if _is_api_root(route)]:
        index = client.get(route_url(route)).json()

        assert all(isinstance(link, str) and link.startswith("http") for link in index.values()), route


def test_a_refusal_names_no_sensitive_field_or_figure(personas, figures):
    client = personas["operations"].make_client()
    refused = [
        route
        for route in api_routes()
        if not route.has_format_suffix
        and "GET" in (expectations(route) or {})
        and not readable_by_operations(route, "GET")
    ]

    assert len(refused) >= 3, "Operations is refused compensation, cash positions and the runway"
    for route in refused:
        response = client.get(route_url(route))
        assert response.status_code == 403, route
        # The message may say what is refused ("the runway"), never a figure or a field of it.
        assert not leaks(response.json(), figures, spellings(figures)), route


def _rows(response) -> list:
    body = response.json()
    return body["results"] if isinstance(body, dict) and "results" in body else body


def test_ordering_or_filtering_by_a_sensitive_field_changes_nothing_for_operations(personas):
    client = personas["operations"].make_client()
    lists = [route for route in operations_routes("GET") if route.is_list]

    honoured = []
    for route in lists:
        base = route_url(route).replace("?limit=1", "?limit=50")
        default = _rows(client.get(base))
        for term in SIDE_CHANNEL_ORDERINGS:
            for ordering in (term, f"-{term}"):
                response = client.get(f"{base}&ordering={ordering}")
                if response.status_code != 400 and _rows(response) != default:
                    honoured.append(f"{base}&ordering={ordering}")
        for query in SIDE_CHANNEL_FILTERS:
            response = client.get(f"{base}&{query}")
            if response.status_code != 400 and _rows(response) != default:
                honoured.append(f"{base}&{query}")

    assert len(lists) > 10
    assert not honoured, "\n".join(honoured)


# --- anonymous, on the public API ---------------------------------------------------------------


def test_no_public_answer_holds_a_sensitive_key_or_figure(personas, figures, settings):
    # Funding figures published too: the most a public site ever shows.
    settings.OPSITE_PUBLIC_FUNDING = True
    client = Client()
    urls = [
        "/api/v1/public/kpis/",
        *(
            f"/api/v1/public/series/{metric}/?interval={interval}"
            for metric in rollups.METRICS
            for interval in INTERVALS
        ),
        *(f"/api/v1/public/badges/{metric}.json" for metric in rollups.METRICS),
    ]

    found = []
    for url in urls:
        for response in (client.get(url), client.options(url)):
            assert response.status_code == 200, url
            found += [f"{url} {leak}" for leak in leaks(response.json(), figures, spellings(figures))]

    assert not found, "\n".join(found)


def test_the_public_schema_describes_no_figure(personas, figures):
    # The schema is public: it may name fields, but an example or default must never be a figure.
    schema = Client().get("/api/schema/?format=json")

    assert not figure_pattern(spellings(figures)).search(json.dumps(schema.json()))
