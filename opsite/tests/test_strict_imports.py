"""Strict numbers and text at every import door, fed the shared corpus; one key per file.

Every import resource of the apps is found, not listed (``OpsiteResource`` subclasses with a
model), and fed one file holding one bad cell per row, for every column: the part of
:data:`~opsite.tests.strict_corpus.CORPUS` that fits its widget's type (the library's types, so
a lax widget is fed it too), and NUL in every column. The promise checked: no crash (the admin
would show a traceback), every row refused on its column with the message of
:mod:`opsite.core.parsing` for numbers, nothing written. Then the one-key-per-file rule: a file
naming a row twice is refused, naming both rows, for every resource.
"""

from __future__ import annotations

import datetime as dt
import importlib
from typing import Any

import pytest
import tablib
from import_export import widgets as ie_widgets

from communities.resources import ActiveUserCountResource
from communities.tests.factories import HubFactory
from contributions.models import PullRequest
from contributions.resources import PullRequestResource, RepositoryResource
from contributions.tests.factories import PullRequestFactory
from opsite.core.dates import PlausibleDateValidator
from opsite.core.resources import (
    ImportFailed,
    OpsiteResource,
    StrictDecimalWidget,
    StrictIntegerWidget,
    import_file,
)

from .strict_corpus import (
    APPS,
    BAD_DATES,
    BAD_DECIMAL,
    BAD_INSTANTS,
    BAD_NATIVE_DECIMAL,
    BAD_NATIVE_WHOLE,
    BAD_WHOLE,
    NUL_TEXTS,
    counts,
    expected_message,
    expected_whole_message,
    make_instance,
)

# --- every resource, every column -------------------------------------------------------------


def _is_a_day(value) -> bool:
    try:
        dt.date.fromisoformat(str(value))
    except ValueError:
        return False
    return True


def app_resources() -> list[type[OpsiteResource]]:
    """Every resource class of the apps (``<app>/resources.py``), bases left out."""
    for app in APPS:
        importlib.import_module(f"{app}.resources")

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    return sorted(
        {
            cls
            for cls in subclasses(OpsiteResource)
            if cls.__module__.split(".")[0] in APPS and getattr(cls._meta, "model", None) is not None
        },
        key=lambda cls: cls.__qualname__,
    )


def import_columns(resource: OpsiteResource) -> dict[str, Any]:
    return {f.column_name: f for f in resource.get_import_fields() if not f.readonly}


def model_field_of(resource: OpsiteResource, field):
    try:
        return resource._meta.model._meta.get_field(field.attribute)
    except Exception:
        return None


def import_cases(resource: OpsiteResource) -> list[tuple[str, str, Any]]:
    """(kind, column, value) of one bad cell, for every import column of ``resource``."""
    cases = []
    for column, field in import_columns(resource).items():
        widget, model_field = field.widget, model_field_of(resource, field)
        minimum = min(
            (
                v.limit_value
                for v in getattr(model_field, "validators", [])
                if type(v).__name__ == "MinValueValidator"
            ),
            default=None,
        )
        if isinstance(widget, ie_widgets.IntegerWidget):
            cases += [("whole", column, v) for v in BAD_WHOLE + BAD_NATIVE_WHOLE]
        elif isinstance(widget, ie_widgets.DecimalWidget):
            cases += [("decimal", column, v) for v in BAD_DECIMAL + BAD_NATIVE_DECIMAL]
        elif isinstance(widget, ie_widgets.DateTimeWidget):
            cases += [("instant", column, v) for v in BAD_INSTANTS]
        elif isinstance(widget, ie_widgets.DateWidget):
            # A figure the system computes (a snapshot's cash-out day) has no plausible range: a
            # restored file may hold any real day there, but never one that is not a day.
            checked = any(
                isinstance(v, PlausibleDateValidator) for v in getattr(model_field, "validators", [])
            )
            cases += [("date", column, v) for v in BAD_DATES if checked or not _is_a_day(v)]
        if (
            minimum is not None
            and minimum >= 0
            and isinstance(widget, ie_widgets.IntegerWidget | ie_widgets.DecimalWidget)
        ):
            cases.append(("negative", column, "-1"))
        cases += [("nul", column, text) for text in NUL_TEXTS]
    return cases


def test_every_number_column_of_every_resource_reads_strictly():
    lax = []
    for cls in app_resources():
        resource = cls()
        for column, field in import_columns(resource).items():
            model_field = model_field_of(resource, field)
            internal = model_field.get_internal_type() if model_field is not None else ""
            if ("Integer" in internal or "AutoField" in internal) and not isinstance(
                field.widget, StrictIntegerWidget
            ):
                lax.append(f"{cls.__qualname__}.{column}: {type(field.widget).__name__}")
            if internal == "DecimalField" and not isinstance(field.widget, StrictDecimalWidget):
                lax.append(f"{cls.__qualname__}.{column}: {type(field.widget).__name__}")
    assert lax == []


@pytest.mark.django_db
def test_every_import_resource_refuses_the_corpus_naming_row_and_column():
    resources = app_resources()
    assert len(resources) > 15, "no resource found: the test reads nothing"
    before = counts()
    problems: list[str] = []
    fed = 0
    for cls in resources:
        resource = cls()
        columns = list(import_columns(resource))
        cases = import_cases(resource)
        # One file per resource, one bad cell per row, the other cells empty.
        dataset = tablib.Dataset(headers=columns)
        for _kind, column, value in cases:
            dataset.append([value if c == column else "" for c in columns])
        fed += len(cases)
        result = cls().import_data(dataset, dry_run=False)
        if result.base_errors or result.has_errors():
            errors = [str(e.error) for e in result.base_errors] + [
                f"row {n}: {e.error!r}" for n, row_errors in result.row_errors() for e in row_errors
            ]
            problems.append(f"{cls.__qualname__}: crashed (a traceback in the admin): {errors[:3]}")
            continue
        refused = {invalid.number: invalid.error_dict for invalid in result.invalid_rows}
        for number, (kind, column, value) in enumerate(cases, 1):
            field = import_columns(resource)[column]
            name = field.attribute or column
            messages = refused.get(number, {}).get(name, [])
            if not messages:
                problems.append(
                    f"{cls.__qualname__} row {number} {column}={value!r:.60}: not refused on its column"
                )
                continue
            wanted = None
            if kind == "whole":
                wanted = expected_whole_message(value, floats=True)
            elif kind in ("decimal", "nul"):
                wanted = expected_message(kind, name, value)
            if wanted is not None and wanted not in messages:
                problems.append(f"{cls.__qualname__} row {number} {column}={value!r:.60}: {messages!r:.300}")
    print(f"import fuzz: {fed} bad cells in {len(resources)} files")
    assert counts() == before, "a refused import wrote rows"
    assert problems == [], "\n".join(problems)


# --- one natural key per file ----------------------------------------------------------------


@pytest.mark.django_db
def test_every_resource_refuses_a_file_naming_a_row_twice():
    problems = []
    for cls in app_resources():
        resource = cls()
        model = resource._meta.model
        make_instance(model)
        exported = cls().export()
        if not len(exported):
            problems.append(f"{cls.__qualname__}: nothing exported to repeat")
            continue
        stored = list(model._base_manager.order_by("pk").values())
        dataset = tablib.Dataset(exported[0], exported[0], headers=exported.headers)
        with pytest.raises(ImportFailed) as failed:
            import_file(cls(), dataset.export("csv"), "csv")
        id_field = resource.fields[resource.get_import_id_fields()[0]]
        repeated = [e for e in failed.value.errors if e.row == 2 and "of row 1" in e.message]
        if not repeated or repeated[0].field != (id_field.attribute or id_field.column_name):
            problems.append(f"{cls.__qualname__}: {failed.value.errors}")
        if list(model._base_manager.order_by("pk").values()) != stored:
            problems.append(f"{cls.__qualname__}: the refused file changed rows")
    assert problems == [], "\n".join(problems)


@pytest.mark.django_db
def test_a_repeated_key_is_compared_as_the_widgets_read_it():
    HubFactory(slug="jh")
    # The same sample: the hub's slug padded, the day as text and as a spreadsheet date.
    dataset = tablib.Dataset(
        ("jh", "2024-01-31", "30d", 5),
        (" jh ", dt.date(2024, 1, 31), "30d", 6),
        headers=["hub", "date", "period", "active_users"],
    )

    result = ActiveUserCountResource().import_data(dataset)

    [invalid] = result.invalid_rows
    assert invalid.number == 2
    assert invalid.error_dict["hub"] == [
        "repeats the hub, date and period (' jh ', 2024-01-31, '30d') of row 1: "
        "a file may hold each active user count once."
    ]


@pytest.mark.django_db
def test_a_repository_named_twice_in_two_letter_cases_is_refused():
    content = "full_name,upstream_community\njupyter/notebook,\nJupyter/Notebook,\n"

    with pytest.raises(ImportFailed) as failed:
        import_file(RepositoryResource(), content, "csv")

    assert [(e.row, e.field) for e in failed.value.errors] == [(2, "full_name")]
    assert "repeats the full_name 'Jupyter/Notebook' of row 1" in failed.value.errors[0].message


@pytest.mark.django_db
def test_a_pull_request_id_written_as_a_decimal_never_overwrites_another():
    first = PullRequestFactory(number=1, title="the first", repository__full_name="org/repo")
    content = (
        "repository,number,title,author_login,created_at\norg/repo,1.9,not the first,x,2024-03-01T09:00:00Z\n"
    )

    with pytest.raises(ImportFailed) as failed:
        import_file(PullRequestResource(), content, "csv")

    assert [(e.row, e.field, e.message) for e in failed.value.errors] == [
        (1, "number", "'1.9' is not a whole number.")
    ]
    assert PullRequest.objects.get(pk=first.pk).title == "the first"
