"""Every importable admin fed a corpus of malformed files (issue 10, "Tests": a fuzz per door).

The corpus (:mod:`opsite.tests.malformed_imports`): bad encodings, zip bombs, huge headers, JSON
of the wrong shape, rows past the cap, NULs, formula cells, damaged archives; then each
resource's own exported row with numbers and dates in bad shapes. Each answer: no 500, no
traceback, a refusal that names its place (the line, the row and column, the key), and not one
row written.
"""

from __future__ import annotations

import csv
import io
import re
import warnings

import pytest
from django.apps import apps
from import_export.widgets import DateTimeWidget, DateWidget, IntegerWidget, NumberWidget

from .admin_imports import (
    IMPORTABLE,
    REGISTRY,
    assert_no_server_error,
    client_for,
    counts,
    csv_bytes,
    demo_rows,
    outcome,
    post_import,
    quick_pages,
    small_caps,
)
from .malformed_imports import BAD_DATES, BAD_INTEGERS, BAD_NUMBERS, CSV, JSON, XLSX, corpus

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    with demo_rows(django_db_blocker):
        yield


@pytest.fixture
def root(superuser):
    with quick_pages():
        yield client_for(superuser)


# --- the corpus, on every resource ----------------------------------------------------------------


def test_the_corpus_holds_at_least_60_malformed_files():
    assert len(corpus()) >= 60
    assert len({probe.name for probe in corpus()}) == len(corpus())
    assert len(IMPORTABLE) >= 20


@pytest.mark.parametrize("label", IMPORTABLE)
def test_every_malformed_file_is_refused_with_its_place_and_writes_nothing(demo, root, settings, label):
    small_caps(settings)
    before = counts()
    problems = []
    for probe in corpus():
        response = post_import(
            root,
            label,
            f"{probe.name}.{ {CSV: 'csv', XLSX: 'xlsx', JSON: 'json'}[probe.fmt] }",
            probe.fmt,
            probe.data,
        )
        assert_no_server_error(response, probe.name)
        kind, messages = outcome(response)
        if probe.refused and kind == "preview":
            problems.append(f"{probe.name}: previewed as importable")
        if kind == "file" and probe.place and not any(re.search(probe.place, m) for m in messages):
            problems.append(f"{probe.name}: {messages} does not name {probe.place!r}")
        if kind != "preview" and not all(messages):
            problems.append(f"{probe.name}: a refusal without a message")
    assert problems == []
    assert counts() == before


def _base_row(label: str) -> tuple[list[str], list[str], object]:
    """The header and first row of this resource's CSV export, and the resource."""
    model_admin = REGISTRY[apps.get_model(label)]
    resource = model_admin.get_import_resource_classes(None)[0]()
    queryset = (
        resource.get_queryset() if hasattr(resource, "get_queryset") else apps.get_model(label).objects.all()
    )
    exported = resource.export(queryset=queryset.order_by("pk")[:1])
    header, row = list(csv.reader(io.StringIO(exported.export("csv"))))[:2]
    return header, row, resource


def _columns_of(resource, widget_types) -> list[str]:
    return [
        field.column_name
        for field in resource.get_import_fields()
        if isinstance(field.widget, widget_types) and not field.readonly
    ]


@pytest.mark.parametrize("label", IMPORTABLE)
def test_numbers_and_dates_in_bad_shapes_never_fail_with_a_500(demo, root, label):
    """Each bad number goes into a number column of the resource's own (valid) row, each bad date
    into a date column. A refusal names the row; what a resource still accepts is reported as a
    warning (the strict number widgets are another part of issue 10)."""
    header, row, resource = _base_row(label)
    response = post_import(root, label, "base.csv", CSV, csv_bytes(header, [row]))
    assert outcome(response)[0] == "preview", f"the exported row of {label} does not re-import"
    before = counts()
    accepted = []
    kinds = (
        (NumberWidget, BAD_NUMBERS),
        (IntegerWidget, BAD_INTEGERS),
        ((DateWidget, DateTimeWidget), BAD_DATES),
    )
    for widget_types, values in kinds:
        columns = [c for c in _columns_of(resource, widget_types) if c in header]
        for i, value in enumerate(values if columns else ()):
            column = columns[i % len(columns)]
            bad = list(row)
            bad[header.index(column)] = value
            response = post_import(root, label, "bad.csv", CSV, csv_bytes(header, [bad]))
            assert_no_server_error(response, f"{column}={value!r}")
            kind, messages = outcome(response)
            if kind == "preview":
                accepted.append(f"{column}={value!r}")
            else:
                assert messages and all(re.match(r"(row 1\b|file: )", m) for m in messages), messages
    assert counts() == before
    if accepted:
        warnings.warn(f"{label} still accepts {', '.join(accepted)}", stacklevel=1)
