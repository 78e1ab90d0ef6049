"""Every list endpoint costs the same queries however many rows it answers with (STYLE.md).

The lists are read from the URL resolver, so a new one is measured without being listed here. Each
is read twice on the demo organization, a page of one row and a page of every row (up to 50): a
query per row (an N+1 from a relation the selector forgot to join or prefetch) shows as a count
that grows with the page.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from opsite.core.roles import OPERATIONS
from opsite.tests.test_api_matrix import (
    Route,
    api_routes,
    expectations,
    role_permissions,
)

pytestmark = pytest.mark.django_db

BIG_PAGE = 50


def list_routes() -> list[Route]:
    # A format suffix (members.json) runs the same view as the plain route.
    return [route for route in api_routes() if route.is_list and not route.has_format_suffix]


def queries_for(client, url: str) -> tuple[int, int, list[str]]:
    """(queries, rows answered, the SQL) of one GET of ``url``."""
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return len(context), len(response.json()["results"]), [query["sql"] for query in context.captured_queries]


def test_there_are_lists_to_measure():
    assert len(list_routes()) > 15
    assert all("GET" in (expectations(route) or {}) for route in list_routes())


def measured() -> list:
    """(route, persona): every list for a superuser, and the lists Operations may read for it (its
    answers leave gated fields out, so its queries can differ)."""
    params = []
    for route in list_routes():
        params.append(pytest.param(route, "superuser", id=f"{route.name}-superuser"))
        perms = expectations(route)["GET"].perms
        if perms is None or perms <= role_permissions()[OPERATIONS]:
            params.append(pytest.param(route, "operations", id=f"{route.name}-operations"))
    return params


@pytest.mark.parametrize(("route", "persona"), measured())
def test_a_list_costs_the_same_queries_for_one_row_as_for_many(personas, route, persona):
    who = personas[persona]
    client = who.make_client()
    url = reverse(route.name)

    one, one_rows, _ = queries_for(client, f"{url}?limit=1")
    many, many_rows, sql = queries_for(client, f"{url}?limit={BIG_PAGE}")

    assert one_rows == 1
    assert many_rows > 1, f"{route.name}: the organization needs more than one row here"
    assert many == one, f"{route.name}: {one} queries for 1 row, {many} for {many_rows}:\n" + "\n".join(sql)
