"""What the admin import tests share: the importable admins, the requests, how a page answered.

Used by ``test_admin_import_fuzz`` (the malformed corpus on every resource) and
``test_admin_import_hardening`` (bounds, the confirm step, odd parameters).
"""

from __future__ import annotations

import contextlib
import csv
import io
from collections.abc import Iterator
from unittest import mock

from django.apps import apps
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from import_export.admin import ExportMixin, ImportMixin

from opsite.demo.loader import DEMO_TODAY, demo_load
from opsite.tests.shared_rows import shared_rows

from .malformed_imports import TEST_MAX_BYTES, TEST_MAX_ROWS

REGISTRY = dict(sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label))
_ROOT = get_user_model()(is_superuser=True, is_active=True, is_staff=True)
_ROOT_REQUEST = type("Request", (), {"user": _ROOT})()
IMPORTABLE = [
    model._meta.label
    for model, model_admin in REGISTRY.items()
    if isinstance(model_admin, ImportMixin) and model_admin.has_import_permission(_ROOT_REQUEST)
]
EXPORTABLE = [
    model._meta.label for model, model_admin in REGISTRY.items() if isinstance(model_admin, ExportMixin)
]
# The tables of the apps and of the kernel: none may change while malformed files are tried.
COUNTED = [
    model
    for label in ("staff", "communities", "contributions", "contracts", "funding", "opsite")
    for model in apps.get_app_config(label).get_models()
]


def admin_url(label: str, view: str) -> str:
    opts = apps.get_model(label)._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}")


def counts() -> dict[str, int]:
    return {model._meta.label: model._default_manager.count() for model in COUNTED}


@contextlib.contextmanager
def demo_rows(django_db_blocker) -> Iterator[None]:
    """The demo organization, and a row of each table the demo leaves to jobs; rolled back after.

    For a module-scoped fixture: ``with demo_rows(django_db_blocker): yield``.
    """
    from communities.models import CloudCost, ClusterUsage, CostSource, PrometheusSource

    def build():
        demo_load(today=DEMO_TODAY)
        PrometheusSource.objects.create(cluster="fuzz-cluster", url="http://127.0.0.1:9090/")
        ClusterUsage.objects.create(cluster="fuzz-cluster", date="2024-12-31", unique_users=12)
        CostSource.objects.get_or_create(cluster="fuzz-cluster", defaults={"url": "http://127.0.0.1:8080/"})
        CloudCost.objects.get_or_create(
            date="2024-12-31", cluster="fuzz-cluster", hub=None, component="core", defaults={"amount": "1.00"}
        )

    with shared_rows(django_db_blocker, build):
        yield


def client_for(user) -> Client:
    """A logged-in client that answers a server error with its 500 page, for the test to see."""
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


@contextlib.contextmanager
def quick_pages() -> Iterator[None]:
    """The admin's navigation sidebar left out: it lists every model on every page, and is no
    part of an import (it is half the time of a page; the fuzz renders two thousand)."""
    with mock.patch.object(admin.site, "enable_nav_sidebar", False):
        yield


def small_caps(settings) -> None:
    """The corpus's caps (:data:`TEST_MAX_ROWS` rows, :data:`TEST_MAX_BYTES` bytes) on ``settings``."""
    settings.OPSITE_IMPORT_MAX_ROWS = TEST_MAX_ROWS
    settings.OPSITE_IMPORT_MAX_BYTES = TEST_MAX_BYTES


def csv_bytes(header: list[str], rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


def post_import(client: Client, label: str, name: str, fmt: str, data: bytes):
    upload = SimpleUploadedFile(name, data)
    return client.post(admin_url(label, "import"), {"import_file": upload, "format": fmt, "resource": "0"})


def outcome(response) -> tuple[str, list[str]]:
    """``("file", [message])``, ``("rows", ["row N, field: message", ...])`` or ``("preview", [])``."""
    form = response.context["form"]
    if form.errors:
        return "file", [str(m) for messages in form.errors.values() for m in messages]
    result = response.context.get("result")
    if result is None or response.context.get("confirm_form") is not None:
        return "preview", []
    found = [f"file: {error.error}" for error in result.base_errors]
    for number, errors in result.row_errors():
        found += [f"row {number}: {error.error}" for error in errors]
    for row in result.invalid_rows:
        for field, messages in row.error_dict.items():
            found += [f"row {row.number}, {field}: {message}" for message in messages]
    return "rows", found


def assert_no_server_error(response, what: str) -> None:
    assert response.status_code < 500, what
    assert b"Traceback" not in response.content, what
