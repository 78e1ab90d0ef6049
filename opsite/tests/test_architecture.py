"""The layering and the one write path of docs/architecture.md, checked by reading the code.

Every door (admin, admin inline, import-export resource, API viewset) of the apps' models must write
through the services; models hold no business work; the layers import one way (``lint-imports``);
no source module outgrows the 600-line rule; and the design the code cites is in ``docs/``.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import User
from django.db import models
from django.test import RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver
from import_export.mixins import BaseExportMixin, BaseImportMixin
from rest_framework import mixins

from opsite.core.admin import ReadOnlyAdmin, ServiceInlineMixin, ServiceWritesMixin
from opsite.core.api.viewsets import ServiceModelViewSet
from opsite.core.resources import OpsiteResource
from opsite.core.services import has_writes

ROOT = Path(__file__).resolve().parents[2]
APPS = ("staff", "communities", "contributions", "contracts", "funding")
MAX_LINES = 600


def app_models() -> list[type[models.Model]]:
    """The apps' own models (the history tables simple_history generates are not theirs)."""
    return [
        model
        for label in APPS
        for model in apps.get_app_config(label).get_models()
        if not model.__name__.startswith("Historical")
    ]


def label(thing: type) -> str:
    return f"{thing.__module__}.{thing.__qualname__}"


# --- models ---------------------------------------------------------------------------------


def imports_of(path: Path) -> Iterator[tuple[int, str]]:
    """Every module ``path`` imports, anywhere in it (inside functions too), made absolute."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            if node.level:
                base = base[: len(base) - (node.level - 1)]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            yield node.lineno, module
            # ``from . import services``: the names may be modules.
            for alias in node.names:
                yield node.lineno, f"{module}.{alias.name}"


@pytest.mark.parametrize("app", APPS)
def test_no_models_module_imports_its_apps_services(app):
    path = ROOT / app / "models.py"
    services = f"{app}.services"
    found = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for line, module in imports_of(path)
        if module == services or module.startswith(services + ".")
    ]

    assert found == [], "models keep field-local checks; rules across rows live in the services"


def test_no_model_overrides_save_or_delete():
    found = sorted(
        f"{model._meta.label}.{method}"
        for model in app_models()
        for method in ("save", "delete")
        if method in model.__dict__
    )

    assert found == [], "set derived fields and apply rules in the services, not in save()/delete()"


# --- the admin ------------------------------------------------------------------------------


@cache
def superuser_request():
    """A request of an active superuser (not saved: it only answers permission checks)."""
    request = RequestFactory().get("/admin/")
    request.user = User(username="architecture", is_active=True, is_staff=True, is_superuser=True)
    return request


def app_admins() -> list[admin.ModelAdmin]:
    return sorted(
        (model_admin for model, model_admin in admin.site._registry.items() if model._meta.app_label in APPS),
        key=lambda model_admin: model_admin.model._meta.label,
    )


def inlines_of(model_admin: admin.ModelAdmin) -> list[admin.options.InlineModelAdmin]:
    return [inline(model_admin.model, admin.site) for inline in model_admin.inlines]


def admin_writes(model_admin: admin.ModelAdmin) -> bool:
    if isinstance(model_admin, ReadOnlyAdmin):
        return False
    request = superuser_request()
    return (
        model_admin.has_add_permission(request)
        or model_admin.has_change_permission(request)
        or model_admin.has_delete_permission(request)
    )


def inline_writes(inline: admin.options.InlineModelAdmin) -> bool:
    request = superuser_request()
    return (
        inline.has_add_permission(request, None)
        or inline.has_change_permission(request)
        or inline.has_delete_permission(request)
    )


def test_every_admin_of_the_apps_writes_through_the_services_or_is_read_only():
    found = sorted(
        f"{model_admin.model._meta.label}: {label(type(model_admin))}"
        for model_admin in app_admins()
        if not isinstance(model_admin, ServiceWritesMixin | ReadOnlyAdmin)
    )

    assert found == [], "subclass OpsiteAdmin/OpsiteHistoryAdmin (opsite.core.admin), or ReadOnlyAdmin"


def test_every_inline_of_the_apps_admins_shows_the_service_rules_or_is_read_only():
    found = sorted(
        f"{model_admin.model._meta.label}: {label(type(inline))}"
        for model_admin in app_admins()
        for inline in inlines_of(model_admin)
        if not isinstance(inline, ServiceInlineMixin) and inline_writes(inline)
    )

    assert found == [], "subclass OpsiteTabularInline/OpsiteStackedInline (opsite.core.admin)"


# --- the API --------------------------------------------------------------------------------

WRITE_MIXINS = (mixins.CreateModelMixin, mixins.UpdateModelMixin, mixins.DestroyModelMixin)


def routes(patterns=None, prefix: str = "") -> Iterator[tuple[str, object]]:
    """Every route of the URL configuration: (its path pattern, its view)."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            yield from routes(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern.callback


def app_viewsets() -> dict[type, str]:
    """The viewset classes routed under ``/api/v1/<app>/``, with one of their routes."""
    found: dict[type, str] = {}
    for route, view in routes():
        viewset = getattr(view, "cls", None)
        if viewset is None or not hasattr(view, "actions"):
            continue
        if any(route.startswith(f"api/v1/{app}/") for app in APPS):
            found.setdefault(viewset, route)
    return found


def viewset_model(viewset: type) -> type[models.Model]:
    if getattr(viewset, "queryset", None) is not None:
        return viewset.queryset.model
    return viewset.serializer_class.Meta.model


def writing_viewsets() -> dict[type, str]:
    return {viewset: route for viewset, route in app_viewsets().items() if issubclass(viewset, WRITE_MIXINS)}


def test_the_api_of_every_app_is_routed():
    # Guards the tests below against reading no route at all.
    routed = {route.split("/")[2] for route in app_viewsets().values()}
    assert routed == set(APPS)


def test_every_viewset_that_writes_writes_through_the_services():
    found = sorted(
        f"/{route} {label(viewset)}"
        for viewset, route in writing_viewsets().items()
        if not issubclass(viewset, ServiceModelViewSet)
    )

    assert found == [], "subclass opsite.core.api.viewsets.ServiceModelViewSet"


# --- ModelWrites and resources --------------------------------------------------------------


def test_every_model_written_by_a_door_has_its_model_writes():
    doors: dict[str, set[str]] = {}
    for model_admin in app_admins():
        if admin_writes(model_admin):
            doors.setdefault(model_admin.model._meta.label, set()).add("admin")
        for inline in inlines_of(model_admin):
            if inline_writes(inline) and inline.model._meta.app_label in APPS:
                doors.setdefault(inline.model._meta.label, set()).add("admin inline")
    for viewset, route in writing_viewsets().items():
        doors.setdefault(viewset_model(viewset)._meta.label, set()).add(f"/{route}")
    found = sorted(
        f"{model}: written by {', '.join(sorted(by))}"
        for model, by in doors.items()
        if not has_writes(apps.get_model(model))
    )

    assert doors, "no door found: the test reads nothing"
    assert found == [], "declare a ModelWrites in the app's services (docs/adding-a-model.md)"


def test_every_import_export_resource_of_the_admins_is_an_opsite_resource():
    request = superuser_request()
    found = set()
    for model_admin in app_admins():
        resources = []
        if isinstance(model_admin, BaseImportMixin):
            resources += model_admin.get_import_resource_classes(request)
        if isinstance(model_admin, BaseExportMixin):
            resources += model_admin.get_export_resource_classes(request)
        found |= {
            f"{model_admin.model._meta.label}: {label(resource)}"
            for resource in resources
            if not issubclass(resource, OpsiteResource)
        }

    assert sorted(found) == [], (
        "give the admin resource_classes subclassing opsite.core.resources.OpsiteResource"
    )


# --- the files ------------------------------------------------------------------------------


@cache
def repository_files() -> tuple[Path, ...]:
    """The repository's files, committed or not yet (but not those git ignores), that exist."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    paths = {ROOT / name for name in listed.split("\0") if name}
    return tuple(sorted(path for path in paths if path.is_file()))


def is_source(path: Path) -> bool:
    parts = path.relative_to(ROOT).parts
    return (
        path.suffix == ".py"
        and "migrations" not in parts
        and "tests" not in parts
        and not path.name.startswith("test_")
        and path.name != "conftest.py"
    )


def test_the_repository_lists_its_sources():
    # Guards the tests below against reading no file at all.
    assert ROOT / "opsite" / "core" / "recompute.py" in repository_files()


def test_no_source_module_is_over_600_lines():
    found = sorted(
        f"{path.relative_to(ROOT)}: {lines} lines"
        for path in repository_files()
        if is_source(path) and (lines := len(path.read_text().splitlines())) > MAX_LINES
    )

    assert found == [], "turn the module into a package of the same import path (docs/architecture.md)"


def test_no_file_cites_the_design_document_outside_the_repository():
    needle = "DESIGN" + ".md"
    found = [
        str(path.relative_to(ROOT)) for path in repository_files() if needle.encode() in path.read_bytes()
    ]

    assert found == [], f"cite docs/ instead of {needle}"


def test_the_import_contracts_hold():
    lint_imports = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run(
        [str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )

    assert result.returncode == 0, result.stdout + result.stderr
