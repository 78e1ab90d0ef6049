"""What the apps' tests share: the doors of a write seen from outside, and the recompute they ask for.

The tests of every app write the same way through each door of docs/architecture.md ("One write
path"): the API, the admin's change form and its inlines, and an import. The helpers below send a
write through a door, or read what the door answered, as ``{field: [message, ...]}``, so that the
tests can compare the doors. The answers are ``None`` when the door took the write; a test module
that has an empty dict stand for it reads them with ``or {}``.

The recompute helpers record the kinds of recompute a write enqueues after its commit, without
running any task. The test's own transaction never commits; :func:`committed` stands in for a
commit of one write, and :func:`run_on_commit_now` for the commit of what the setup wrote.

Test support only: nothing in the site imports this module. Like the rest of the kernel it imports
no app (the import contracts of ``pyproject.toml``): only Django and ``opsite.core``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, connections
from django.forms import CheckboxInput
from django.test import TestCase
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from . import recompute
from .resources import FORMATS, ImportFailed, import_file

T = TypeVar("T")

Errors = dict[str, list[str]]
"""What a door refused, by field: ``{field: [message, ...]}``."""

NON_FIELD = "__all__"  # Django's key for the errors of a form (or a formset) as a whole


# --- the admin ------------------------------------------------------------------------------------


def admin_url(model: type, view: str, *args: Any) -> str:
    """The admin's ``view`` page of ``model`` (``"changelist"``, ``"add"``, ``"change"``, ...)."""
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def changelist_queries(client, model: type) -> int:
    """The number of queries the admin's changelist of ``model`` takes to answer ``client``."""
    with CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as queries:
        response = client.get(admin_url(model, "changelist"))
    assert response.status_code == 200, f"the changelist answered {response.status_code}"
    return len(queries)


def admin_delete(client, obj):
    """Delete ``obj`` on its admin delete page, confirmed; the admin's answer (302 when deleted)."""
    return client.post(admin_url(type(obj), "delete", obj.pk), {"post": "yes"})


def admin_delete_selected(client, obj):
    """Delete ``obj`` by the changelist's bulk action "delete selected", confirmed; the answer."""
    action = {"action": "delete_selected", "_selected_action": [obj.pk], "post": "yes"}
    return client.post(admin_url(type(obj), "changelist"), action)


def form_data(response) -> dict[str, Any]:
    """The POST a browser would send back, unchanged, from the admin form rendered in ``response``.

    The change form's fields, then each inline's management form and rows. A ticked box is sent
    as ``"on"`` and an unticked one not at all; a field without a value is left out (the form
    reads it as empty); a multiple choice is a list. A field with a callable default also sends its hidden
    initial value, as the page does, so that an extra inline row left alone is seen as unchanged.
    """
    data: dict[str, Any] = {}
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        forms += [inline.formset.management_form, *inline.formset.forms]
    for form in forms:
        for bound in form:
            value = bound.value()
            if isinstance(bound.field.widget, CheckboxInput):
                if value:
                    data[bound.html_name] = "on"
            elif value is not None:
                data[bound.html_name] = value if isinstance(value, list) else str(value)
            if bound.field.show_hidden_initial and value is not None:
                data[bound.html_initial_name] = str(value)
    return data


def inline_management(prefix: str, total: int = 0, initial: int = 0) -> dict[str, str]:
    """The management form of the inline ``prefix``: ``total`` rows, the first ``initial`` stored."""
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def with_inline_row(data: dict[str, Any], prefix: str, fields: dict[str, Any]) -> dict[str, Any]:
    """``data``, the POST of a change form, with one more row of ``fields`` in the inline ``prefix``."""
    number = int(data[f"{prefix}-TOTAL_FORMS"])
    row = {f"{prefix}-{number}-{name}": value for name, value in fields.items()}
    return data | {f"{prefix}-TOTAL_FORMS": str(number + 1)} | row


def admin_errors(
    response, *, inlines: Collection[str] | None = None, set_errors_on: str = NON_FIELD
) -> Errors | None:
    """What the admin's change form in ``response`` refused, by field; ``None`` when it saved.

    A save is the admin's redirect (302); a refusal is the form shown again (200) and names at
    least one error (asserted). The errors are the change form's, then those of each row of the
    inline formsets whose prefix is in ``inlines`` (every inline when ``None``), and the errors of
    such a formset as a whole (a rule on its rows together), under ``set_errors_on``. The messages
    of a field that several forms refuse are kept in that order.
    """
    if response.status_code == 302:
        return None
    assert response.status_code == 200, f"the admin answered {response.status_code}: {response.content!r}"
    errors = {name: list(messages) for name, messages in response.context["adminform"].form.errors.items()}
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        if inlines is not None and formset.prefix not in inlines:
            continue
        for form in formset.forms:
            for name, messages in form.errors.items():
                errors.setdefault(name, []).extend(messages)
        if formset.non_form_errors():
            errors.setdefault(set_errors_on, []).extend(formset.non_form_errors())
    assert errors, "the admin neither saved nor said why"
    return errors


# --- the API --------------------------------------------------------------------------------------


def api_errors(response, accepted: Collection[int] = (200, 201, 204)) -> Errors | None:
    """What the API refused, by field (its 400 answer); ``None`` when it answered an ``accepted`` status.

    Any other status fails the test: the doors refuse a broken rule with a 400, never otherwise.
    """
    if response.status_code in accepted:
        return None
    assert response.status_code == 400, f"the API answered {response.status_code}: {response.content!r}"
    return response.json()


# --- import and export ----------------------------------------------------------------------------


def csv_text(header: list[str], rows: list[list[Any]], *, lineterminator: str = "\r\n") -> str:
    """A CSV file: ``header``, then ``rows``, quoted where a cell needs it (``None`` is empty)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=lineterminator)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def import_errors(resource, content: str, fmt: str = "csv", *, row: int | None = None) -> Errors | None:
    """Import ``content`` through ``resource``; what it refused, by field, or ``None`` when imported.

    An import is all or nothing (``opsite.core.resources.import_file``): a refused file writes no
    row. An error of the file or row as a whole (no field) is under ``"__all__"``. With ``row``,
    every error must name that row of the file (asserted).
    """
    try:
        import_file(resource, content, fmt)
    except ImportFailed as failed:
        if row is not None:
            assert {error.row for error in failed.errors} == {row}, failed.errors
        errors: Errors = {}
        for error in failed.errors:
            errors.setdefault(error.field or NON_FIELD, []).append(error.message)
        return errors
    return None


def exported_file(resource, fmt: str, queryset=None) -> str | bytes:
    """The file the admin's export gives in ``fmt``: binary formats (XLSX) carry native types."""
    format_class = FORMATS[fmt]()
    dataset = resource.export(queryset, force_native_type=format_class.is_binary())
    return format_class.export_data(dataset)


def exported_row(resource, queryset) -> dict[str, str]:
    """The one row ``queryset`` exports to, as the cells of a CSV file (``None`` is empty)."""
    [row] = resource.export(queryset=queryset).dict
    return {name: "" if value is None else str(value) for name, value in row.items()}


# --- commits and the recompute they ask for -------------------------------------------------------


@contextmanager
def enqueues_recorded() -> Iterator[list[str]]:
    """Within the block, enqueuing a recompute records its kind, in order, and runs nothing.

    Yields the list of kinds. ``opsite.core.recompute.enqueue_recompute`` is what a commit's
    recompute batch calls for each kind it was asked for; each call answers ``queued``.
    """
    kinds: list[str] = []

    def enqueue(kind: str) -> recompute.Enqueued:
        kinds.append(kind)
        return recompute.Enqueued(kind=kind, task_id="recorded", status="queued")

    real = recompute.enqueue_recompute
    recompute.enqueue_recompute = enqueue
    try:
        yield kinds
    finally:
        recompute.enqueue_recompute = real


@contextmanager
def commit(using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """A block standing for one committed transaction: what it leaves to run on commit runs at its end.

    The test's own transaction never commits. Setup committed in one of these asks for its
    recompute there; left uncommitted, its recompute batch would still wait in the test's
    transaction, and a later write's requests would join it unseen.
    """
    with TestCase.captureOnCommitCallbacks(using=using, execute=True):
        yield


def committed(write: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``write(*args, **kwargs)`` as one committed transaction (see :func:`commit`); its result."""
    with commit():
        return write(*args, **kwargs)


def enqueued_by(kinds: list[str], write: Callable[..., T], *args: Any, **kwargs: Any) -> tuple[T, list[str]]:
    """Run ``write`` as one committed transaction; its result and the kinds it enqueued, sorted.

    ``kinds`` is the list :func:`enqueues_recorded` yields; what was in it before is forgotten.
    """
    kinds.clear()
    outcome = committed(write, *args, **kwargs)
    return outcome, sorted(kinds)


def run_on_commit_now(using: str = DEFAULT_DB_ALIAS) -> None:
    """Run what waits for the test's transaction to commit (which it never does), as its commit would.

    What the setup asked for is then done, so that the next write starts a recompute batch of its
    own rather than joining the setup's.
    """
    for _, callback, _ in list(connections[using].run_on_commit):
        callback()
