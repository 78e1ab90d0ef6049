"""Project-wide fixtures: one persona per role (see DESIGN.md "Roles")."""

from __future__ import annotations

import os
import shutil

import pytest
from django.contrib.auth.models import Group

from opsite.core.roles import FINANCE, LEADERSHIP, OPERATIONS

IN_CI = os.environ.get("CI", "").lower() == "true"


def require(condition: bool, reason: str) -> None:
    """Skip with ``reason`` on a workstation that lacks a service; fail in CI, which must run all."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"CI must run this test, but: {reason}")
    pytest.skip(reason)


def require_executable(name: str) -> str:
    path = shutil.which(name) or (f"/usr/bin/{name}" if os.path.exists(f"/usr/bin/{name}") else None)
    require(path is not None, f"{name} is not installed")
    return path


def _restore_migration_data() -> None:
    """Put back the rows migrations create (role groups, default scenarios).

    A transactional test ends by flushing every table, migration data included, and the
    tests after it on the same worker would find no groups or scenarios.
    """
    from importlib import import_module

    from django.apps import apps

    from opsite.core.roles import sync_role_groups

    sync_role_groups(apps)
    import_module("funding.migrations.0003_default_scenarios").create_default_scenarios(apps, None)


@pytest.fixture(autouse=True)
def _migration_data(request):
    marker = request.node.get_closest_marker("django_db")
    uses_db = marker is not None or {"db", "transactional_db"} & set(request.fixturenames)
    if not uses_db:
        return
    request.getfixturevalue("db")
    # A recompute batch is kept on the connection until its transaction commits; one left by
    # an earlier test whose transaction was rolled back must not swallow this test's requests.
    from django.db import connections

    from opsite.core import recompute

    for conn in connections.all(initialized_only=True):
        conn.__dict__.pop("_opsite_recompute_batch", None)
    recompute._running.active = False
    if not Group.objects.filter(name=OPERATIONS).exists():
        _restore_migration_data()


def _make_user(django_user_model, username: str, group: str | None = None, **extra):
    user = django_user_model.objects.create_user(
        username=username, password="pw-" + username, email=f"{username}@example.org", is_staff=True, **extra
    )
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def operations_user(db, django_user_model):
    return _make_user(django_user_model, "ops", OPERATIONS)


@pytest.fixture
def finance_user(db, django_user_model):
    return _make_user(django_user_model, "fin", FINANCE)


@pytest.fixture
def leadership_user(db, django_user_model):
    return _make_user(django_user_model, "lead", LEADERSHIP)


@pytest.fixture
def superuser(db, django_user_model):
    return django_user_model.objects.create_superuser(
        username="root", password="pw-root", email="root@example.org"
    )


@pytest.fixture
def inactive_user(db, django_user_model):
    return _make_user(django_user_model, "gone", FINANCE, is_active=False)


def _client_for(user):
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def operations_client(operations_user):
    return _client_for(operations_user)


@pytest.fixture
def finance_client(finance_user):
    return _client_for(finance_user)


@pytest.fixture
def leadership_client(leadership_user):
    return _client_for(leadership_user)


@pytest.fixture
def super_client(superuser):
    return _client_for(superuser)
