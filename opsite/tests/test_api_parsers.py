"""The API's JSON parser: what it cannot read is a 400 (or a 413) naming why, never a 500."""

from __future__ import annotations

import json

import pytest

from communities.models import Network
from opsite.core.api.parsers import json_depth_exceeds

NETWORKS = "/api/v1/communities/networks/"
pytestmark = pytest.mark.django_db


def _post(client, body: bytes | str, content_type: str = "application/json"):
    return client.generic("POST", NETWORKS, body, content_type=content_type)


@pytest.mark.parametrize(
    ("text", "limit", "exceeds"),
    [
        ("[]", 1, False),
        ("[[]]", 1, True),
        ('{"a": "[[[[[["}', 1, False),  # brackets inside a string are text
        ('{"a": "\\"[[["}', 1, False),  # an escaped quote does not end the string
        ('[{"a": [1]}]', 3, False),
        ('[{"a": [1]}]', 2, True),
    ],
)
def test_depth_counts_arrays_and_objects_but_not_brackets_inside_strings(text, limit, exceeds):
    assert json_depth_exceeds(text, limit) is exceeds


def test_a_body_nested_fifty_thousand_levels_deep_is_a_400(operations_client):
    response = _post(operations_client, "[" * 50_000 + "]" * 50_000)
    assert response.status_code == 400
    assert "nested more than 32 levels" in response.json()["detail"]


def test_an_unknown_charset_is_a_400_naming_it(operations_client):
    response = _post(operations_client, '{"slug": "x", "name": "X"}', "application/json; charset=rot13")
    assert response.status_code == 400
    assert "rot13" in response.json()["detail"]
    assert not Network.objects.filter(slug="x").exists()


def test_utf8_named_in_any_case_is_read(operations_client):
    response = _post(operations_client, '{"slug": "x", "name": "X"}', "application/json; charset=UTF-8")
    assert response.status_code == 201, response.content


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_not_json(operations_client, constant):
    response = _post(operations_client, '{"slug": "x", "name": ' + constant + "}")
    assert response.status_code == 400
    assert constant.lstrip("-") in response.json()["detail"]


def test_a_body_that_is_not_utf8_is_a_400(operations_client):
    response = _post(operations_client, '{"slug": "x", "name": "Bogotá"}'.encode("latin-1"))
    assert response.status_code == 400
    assert "not UTF-8" in response.json()["detail"]


def test_a_body_past_the_ceiling_is_a_413_saying_the_limit(operations_client, settings):
    settings.OPSITE_JSON_MAX_BYTES = 1024
    response = _post(operations_client, json.dumps({"slug": "x", "name": "X" * 2000}))
    assert response.status_code == 413
    assert "1,024 bytes" in response.json()["detail"]
    assert not Network.objects.exists()


def test_malformed_json_is_a_400(operations_client):
    response = _post(operations_client, '{"slug": "x",')
    assert response.status_code == 400
    assert response.json()["detail"].startswith("JSON parse error")
