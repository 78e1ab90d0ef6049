"""Strict numbers and text at every door of the API, fed the shared corpus of malformed input.

The doors are found, not listed: every CRUD endpoint routed under ``/api/v1/<app>/`` that writes
through the services, and every batch endpoint. Each writable field is fed the part of
:data:`~opsite.tests.strict_corpus.CORPUS` that fits its type (by DRF's own field types, so a lax
field is fed it too), so a new model, endpoint or field is fuzzed as soon as it exists. The
promise checked for every input: no 500, a 400 naming the field (and the row, for a batch) with
the message of :mod:`opsite.core.parsing` for numbers, and no row written or changed. The import
door is ``test_strict_imports.py``.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework import serializers as drf

from communities.models import Network
from communities.tests.factories import CommunityFactory, HubFactory
from opsite.core.api.serializers import (
    OpsiteModelSerializer,
    OpsiteSerializer,
    StrictBigIntegerField,
    StrictDecimalField,
    StrictIntegerField,
)
from opsite.core.api.viewsets import ServiceModelViewSet
from opsite.core.parsing import parse_decimal, parse_integer
from opsite.core.resources import StrictDecimalWidget, StrictIntegerWidget

from .strict_corpus import (
    APPS,
    BAD_DATES,
    BAD_DECIMAL,
    BAD_INSTANTS,
    BAD_JSON_DECIMAL,
    BAD_JSON_WHOLE,
    BAD_NATIVE_DECIMAL,
    BAD_NATIVE_WHOLE,
    BAD_WHOLE,
    CORPUS,
    NUL_TEXTS,
    counts,
    expected_decimal_message,
    expected_message,
    expected_whole_message,
    make_instance,
    snapshot,
)

# --- the parsers themselves -------------------------------------------------------------------


def test_the_corpus_holds_at_least_sixty_malformed_inputs():
    distinct = {repr(value) for value in CORPUS}
    assert len(distinct) >= 60, len(distinct)


@pytest.mark.parametrize("value", BAD_WHOLE + BAD_NATIVE_WHOLE, ids=repr)
def test_a_malformed_whole_number_is_refused_naming_it(value):
    message = expected_whole_message(value, floats=True)
    assert message.startswith(repr(value)[:40])
    assert "whole number" in message or "too long" in message


@pytest.mark.parametrize("value", BAD_DECIMAL + BAD_NATIVE_DECIMAL, ids=repr)
def test_a_malformed_decimal_is_refused_naming_it(value):
    message = expected_decimal_message(value)
    assert message.startswith(repr(value)[:40])
    assert "not a number" in message or "too l" in message


def test_a_thousands_separator_is_refused_with_what_to_write_instead():
    assert expected_decimal_message("1,5") == (
        "'1,5' is not a number: use a point for decimals and no thousands separators."
    )
    assert (
        expected_decimal_message("1e3")
        == "'1e3' is not a number: write it out in digits, without an exponent."
    )
    assert expected_whole_message("\u0663", floats=False) == (
        "'\u0663' is not a whole number: write it with the digits 0-9."
    )


def test_a_huge_number_is_refused_before_any_conversion(monkeypatch):
    # The length is checked first: int() never sees such a value (int(Decimal("1e999999999"))
    # would build a billion-digit number).
    import opsite.core.parsing as parsing

    class NeverConverted(int):
        def __new__(cls, value, *args):
            raise AssertionError(f"converted a {len(str(value))}-character value")

    monkeypatch.setattr(parsing, "int", NeverConverted, raising=False)
    for value in ("1" * 100_000, "9" * 1_000_000, "1e999999999", "-" + "7" * 100_000):
        for parse in (parse_integer, parse_decimal):
            with pytest.raises(ValueError) as refused:
                parse(value)
            assert "converted" not in str(refused.value)
            assert len(str(refused.value)) < 200  # the value is shortened, not echoed


@pytest.mark.parametrize(
    ("value", "expected"),
    [("42", 42), (" 12 ", 12), ("\t-3\n", -3), ("007", 7), (0, 0), (7, 7), (7.0, 7)],
    ids=repr,
)
def test_a_whole_number_in_ascii_digits_or_a_spreadsheets_whole_float_is_read(value, expected):
    assert StrictIntegerWidget().clean(value) == expected


def test_an_api_whole_number_is_never_a_float():
    assert parse_integer(7) == 7
    for value in (7.0, 2.0):
        with pytest.raises(ValueError):
            parse_integer(value, floats=False)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1234.50", Decimal("1234.50")),
        (" 7 ", Decimal("7")),
        ("-0.25", Decimal("-0.25")),
        (".5", Decimal("0.5")),
        ("3.", Decimal("3")),
        (0.1, Decimal("0.1")),
        (10.005, Decimal("10.005")),
        (12, Decimal("12")),
    ],
    ids=repr,
)
def test_a_decimal_is_read_exactly_never_through_binary_noise(value, expected):
    assert StrictDecimalWidget().clean(value) == expected


# --- every serializer is strict --------------------------------------------------------------


def app_serializer_classes() -> list[type]:
    found = []
    for app in APPS:
        module = importlib.import_module(f"{app}.api.serializers")
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, drf.BaseSerializer)
                and value.__module__ == module.__name__
            ):
                found.append(value)
    return found


def test_every_serializer_of_the_apps_subclasses_the_kernel_bases():
    classes = app_serializer_classes()
    assert len(classes) > 20, "no serializer found: the test reads nothing"
    lax = sorted(
        f"{cls.__module__}.{cls.__qualname__}"
        for cls in classes
        if not issubclass(cls, OpsiteModelSerializer | OpsiteSerializer)
    )
    assert lax == [], "subclass opsite.core.api.serializers.OpsiteModelSerializer or OpsiteSerializer"


STRICT_FIELDS = (StrictIntegerField, StrictBigIntegerField, StrictDecimalField)


def superuser_context() -> dict:
    user = SimpleNamespace(has_perm=lambda permission: True, is_authenticated=True)
    return {"request": SimpleNamespace(user=user)}


def test_every_writable_number_field_of_the_apps_is_strict():
    lax = []
    for cls in app_serializer_classes():
        try:
            fields = cls(context=superuser_context()).fields
        except TypeError:
            continue  # a serializer that needs arguments of its own
        for name, field in fields.items():
            if field.read_only or not isinstance(field, drf.IntegerField | drf.DecimalField | drf.FloatField):
                continue
            if not isinstance(field, STRICT_FIELDS):
                lax.append(f"{cls.__qualname__}.{name}: {type(field).__name__}")
    assert lax == [], "use opsite.core.api.serializers.StrictIntegerField / StrictDecimalField"


# --- the API: every CRUD endpoint, every writable field -------------------------------------


def routed_viewsets() -> Iterator[tuple[str, str, type]]:
    """(app, route prefix, viewset) of every viewset routed under /api/v1/<app>/."""
    for app in APPS:
        router = importlib.import_module(f"{app}.api.urls").router
        for prefix, viewset, _basename in router.registry:
            yield app, prefix, viewset


def writable_endpoints() -> list[tuple[str, str, type]]:
    return [
        (app, prefix, viewset)
        for app, prefix, viewset in routed_viewsets()
        if issubclass(viewset, ServiceModelViewSet)
    ]


def model_of(viewset: type):
    queryset = getattr(viewset, "queryset", None)
    return queryset.model if queryset is not None else viewset.serializer_class.Meta.model


def negative_refused(field) -> bool:
    minimum = getattr(field, "min_value", None)
    return minimum is not None and minimum >= 0


def bad_values_by_kind(field) -> list[tuple[str, Any]]:
    """(kind, value) pairs a writable serializer field must refuse."""
    cases: list[tuple[str, Any]] = []
    if isinstance(field, drf.IntegerField):
        cases += [("whole", v) for v in BAD_WHOLE + BAD_JSON_WHOLE]
        if negative_refused(field):
            cases += [("negative", "-1"), ("negative", -1)]
    elif isinstance(field, drf.DecimalField):
        cases += [("decimal", v) for v in BAD_DECIMAL + BAD_JSON_DECIMAL]
        if negative_refused(field):
            cases += [("negative", "-1.00"), ("negative", -1)]
    elif isinstance(field, drf.DateTimeField):
        cases += [("instant", v) for v in BAD_INSTANTS]
    elif isinstance(field, drf.DateField):
        cases += [("date", v) for v in BAD_DATES]
    return cases


def nul_value(field) -> Any:
    if isinstance(field, drf.ListField | drf.ManyRelatedField):
        return ["ok", "a\x00b"]
    if isinstance(field, drf.JSONField):
        return {"a\x00": "b"}
    return "a\x00b"


def api_cases(fields: dict) -> list[tuple[str, Any, list[str]]]:
    """(kind, value, fields set to it) per request: one request per corpus value."""
    by_value: dict[tuple[str, str], tuple[str, Any, list[str]]] = {}
    for name, field in fields.items():
        for kind, value in [*bad_values_by_kind(field), ("nul", nul_value(field))]:
            key = (kind, repr(value) if kind != "nul" else repr(type(value)))
            entry = by_value.setdefault(key, (kind, value, []))
            entry[2].append(name)
    return list(by_value.values())


def check_refusal(response, kind: str, value: Any, names: list[str]) -> str | None:
    """What is wrong with the answer to a request setting ``names`` to ``value``, if anything."""
    if response.status_code != 400:
        return f"{response.status_code}: {response.content[:300]!r}"
    body = response.json()
    for name in names:
        messages = body.get(name)
        if not messages:
            return f"400 without {name!r}: {body!r}"[:400]
        wanted = expected_message(kind, name, value if kind != "nul" else None)
        if wanted is not None and wanted not in messages:
            return f"{name!r}: {messages!r}, not {wanted!r}"[:400]
    return None


def post_json(client, url: str, payload: Any, method: str = "post"):
    return getattr(client, method)(url, data=json.dumps(payload), content_type="application/json")


@pytest.mark.django_db
def test_every_api_write_refuses_the_corpus_on_every_field(super_client):
    endpoints = writable_endpoints()
    assert len(endpoints) > 15, "no endpoint found: the test reads nothing"
    # One stored row per endpoint, for its PATCHes; every row made before the count is taken.
    targets = []
    for app, prefix, viewset in endpoints:
        instance = make_instance(model_of(viewset))
        lookup = viewset.lookup_field.split("__")[0]
        key = instance.pk if lookup == "pk" else getattr(instance, lookup)
        key = key.isoformat() if isinstance(key, dt.date) else key
        targets.append((f"/api/v1/{app}/{prefix}/", f"/api/v1/{app}/{prefix}/{key}/", viewset, instance))
    stored = {(type(i), i.pk): snapshot(i) for *_, i in targets}
    before = counts()
    problems: list[str] = []
    answers: Counter = Counter()
    for list_url, detail_url, viewset, _instance in targets:
        serializer = viewset.serializer_class(context=superuser_context())
        fields = {name: field for name, field in serializer.fields.items() if not field.read_only}
        for kind, value, names in api_cases(fields):
            payload = dict.fromkeys(names, value)
            for method, url in (("post", list_url), ("patch", detail_url)):
                response = post_json(super_client, url, payload, method)
                answers[(method, response.status_code)] += 1
                problem = check_refusal(response, kind, value, names)
                if problem:
                    problems.append(f"{method.upper()} {url} {kind} {value!r:.60}: {problem}")
    print(f"API fuzz: {sum(answers.values())} requests; answers {dict(answers)}")
    assert problems == [], "\n".join(problems)
    assert counts() == before, "a refused write added or deleted rows"
    changed = [
        f"{model._meta.label} {pk}" for (model, pk), row in stored.items() if snapshot(model(pk=pk)) != row
    ]
    assert changed == [], "a refused PATCH changed the row"


# --- the API: batch endpoints ----------------------------------------------------------------


def batch_endpoints() -> list[tuple[str, type, type]]:
    """(URL, viewset, row serializer) of every batch action of the apps."""
    found = []
    for app, prefix, viewset in routed_viewsets():
        for action in viewset.get_extra_actions():
            if action.url_path != "batch":
                continue
            model = model_of(viewset)
            module = importlib.import_module(f"{app}.api.serializers")
            row_serializer = getattr(module, f"{model.__name__}BatchRowSerializer", None)
            assert row_serializer is not None, f"{app}.api.serializers.{model.__name__}BatchRowSerializer"
            found.append((f"/api/v1/{app}/{prefix}/batch/", viewset, row_serializer))
    return found


def usage_rows() -> list[dict]:
    HubFactory(slug="fuzz-hub")
    return [
        {"hub": "fuzz-hub", "date": "2024-05-01", "period": "30d", "active_users": 5},
        {"hub": "fuzz-hub", "date": "2024-05-02", "period": "30d", "active_users": 6},
    ]


def pull_request_rows() -> list[dict]:
    row = {"repository": "fuzz/repo", "author_login": "someone", "created_at": "2024-03-01T09:00:00Z"}
    return [{**row, "number": 1}, {**row, "number": 2}]


# Two valid rows per batch endpoint; the second is spoiled one field at a time.
BATCH_ROWS = {"ActiveUserCount": usage_rows, "PullRequest": pull_request_rows}

UNKNOWN_KEYS = ["bogus", "Hub", "number ", "", "\x00", "id", "created_by"]


def batch_cases(row_serializer) -> list[tuple[str, str, Any]]:
    """(kind, field, value) for the second row of a batch."""
    cases = []
    fields = {name: f for name, f in row_serializer().fields.items() if not f.read_only}
    for name, field in fields.items():
        cases += [(kind, name, value) for kind, value in bad_values_by_kind(field)]
        cases += [("nul", name, text) for text in NUL_TEXTS]
    cases += [("unknown", key, 1) for key in UNKNOWN_KEYS if key not in fields]
    return cases


@pytest.mark.django_db
def test_every_batch_endpoint_refuses_the_corpus_naming_the_row_and_field(operations_client):
    endpoints = batch_endpoints()
    assert {viewset.__name__ for _, viewset, _ in endpoints} >= {
        "ActiveUserCountViewSet",
        "PullRequestViewSet",
    }
    problems: list[str] = []
    fed = 0
    for url, viewset, row_serializer in endpoints:
        rows = BATCH_ROWS[model_of(viewset).__name__]()
        before = counts()
        for kind, name, value in batch_cases(row_serializer):
            spoiled = dict(rows[1], **{name: value})
            response = post_json(operations_client, url, [rows[0], spoiled])
            fed += 1
            if response.status_code != 400:
                problems.append(
                    f"{url} {name}={value!r:.60}: {response.status_code} {response.content[:200]!r}"
                )
                continue
            messages = response.json().get(str(name), [])
            if not any(m.startswith("row 1: ") for m in messages) or any(
                m.startswith("row 0") for m in messages
            ):
                problems.append(f"{url} {name}={value!r:.60}: {response.json()!r:.300}")
            wanted = expected_message(kind, name, value)
            if kind == "unknown":
                wanted = f"row 1: unknown field {name!r}; expected"
            if wanted is not None and not any(wanted.removeprefix("row 1: ") in m for m in messages):
                problems.append(f"{url} {name}={value!r:.60}: {messages!r:.300}, not {wanted!r}")
        if counts() != before:
            problems.append(f"{url}: a refused batch wrote rows")
    print(f"batch fuzz: {fed} requests")
    assert problems == [], "\n".join(problems)


@pytest.mark.django_db
@pytest.mark.parametrize("model", sorted(BATCH_ROWS))
def test_a_batch_repeating_a_row_is_refused_naming_both(operations_client, model):
    url = next(url for url, viewset, _ in batch_endpoints() if model_of(viewset).__name__ == model)
    rows = BATCH_ROWS[model]()

    response = post_json(operations_client, url, [rows[0], rows[1], dict(rows[0])])

    assert response.status_code == 400
    [message] = response.json()["rows"]
    assert message.startswith("row 2: repeats row 0"), message


@pytest.mark.django_db
def test_a_usage_batch_names_a_field_the_row_does_not_have(operations_client):
    rows = usage_rows()

    response = post_json(
        operations_client, "/api/v1/communities/active-user-counts/batch/", [rows[0], {**rows[1], "users": 6}]
    )

    assert response.status_code == 400
    assert response.json() == {
        "users": ["row 1: unknown field 'users'; expected hub, date, period, active_users."]
    }


# --- NUL ------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_nul_is_refused_with_the_other_fields_errors_alongside(operations_client):
    response = post_json(
        operations_client, "/api/v1/communities/networks/", {"slug": "net\x00", "name": "x" * 300}
    )

    assert response.status_code == 400
    body = response.json()
    assert body["slug"] == ["slug contains a NUL character (\\x00), which cannot be stored."]
    assert "name" in body  # too long: read and refused as well
    assert not Network.objects.exists()


@pytest.mark.django_db
def test_a_nul_in_a_relation_is_refused_before_any_lookup(operations_client):
    # PostgreSQL answers a NUL in a query with a database error: the slug is never looked up.
    CommunityFactory(slug="uni")
    payload = {"slug": "h1", "community": "uni\x00", "name": "Hub", "url": "https://h1.example.org"}

    with CaptureQueriesContext(connection) as queries:
        response = post_json(operations_client, "/api/v1/communities/hubs/", payload)

    assert response.status_code == 400
    assert response.json()["community"] == [
        "community contains a NUL character (\\x00), which cannot be stored."
    ]
    assert queries.captured_queries, "no query captured: the test reads nothing"
    assert not any("\x00" in query["sql"] for query in queries.captured_queries)
