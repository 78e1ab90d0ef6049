"""Project-wide fixtures: one persona per role (see docs/roles.md), and the migration data kept."""

from __future__ import annotations

import functools
import os
import shutil

import pytest
from django.contrib.auth.models import Group
from pytest_django.plugin import blocking_manager_key

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


@functools.cache
def _migrated_apps():
    """The app registry as the migrations left it: the models the data migrations wrote with."""
    from django.db.migrations.loader import MigrationLoader

    return MigrationLoader(None, ignore_no_migrations=True).project_state().apps


def _restore_migration_data() -> None:
    """Put back the rows the data migrations write (role groups, default scenarios, the default
    usage fee schedule).

    Written as the migrations wrote them: with their historical models, in one committed
    transaction outside any test. Historical models send no signal to the live receivers, so the
    restore asks for no recompute and leaves no ``on_commit`` callback (asserted) behind.
    """
    from importlib import import_module

    from django.db import connection, transaction

    from opsite.core.roles import sync_role_groups

    apps = _migrated_apps()
    with transaction.atomic():
        sync_role_groups(apps)
        import_module("funding.migrations.0003_default_scenarios").create_default_scenarios(apps, None)
        import_module("contracts.migrations.0004_default_usage_fee_schedule").create_default_schedule(
            apps, None
        )
        assert not connection.run_on_commit, "restoring the migration data scheduled work on commit"


@pytest.fixture(autouse=True)
def _fresh_throttle_reservations():
    """Each test starts with no public requests counted ahead by this process's throttle: the
    counters they stand for live in a cache the test may have emptied."""
    from opsite.core.api.throttling import forget_reservations

    forget_reservations()


# Set on a test that ran on a committed (transactional) test database: its teardown empties it.
_EMPTIES_THE_DATABASE = pytest.StashKey[bool]()


@pytest.fixture(autouse=True)
def _migration_data(request):
    """Note a transactional test, whose teardown flushes every table, migration data included."""
    marker = request.node.get_closest_marker("django_db")
    uses_db = marker is not None or {"db", "transactional_db"} & set(request.fixturenames)
    if not uses_db:
        return
    request.getfixturevalue("db")
    from django.db import connection

    # A test run in a transaction rolls back and leaves the database as it found it; one outside
    # (transaction=True, transactional_db, live_server) commits, so its teardown empties the tables.
    request.node.stash[_EMPTIES_THE_DATABASE] = not connection.in_atomic_block


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None):
    """After a transactional test's flush, put the migration data back for the tests after it.

    Done here, after the test's fixtures are torn down, rather than at the start of the next test:
    there it would run inside that test's transaction, and the rows it writes would be that test's.
    After the last test there is nothing to restore for (and the test database is gone).
    """
    try:
        return (yield)
    finally:
        if nextitem is not None and item.stash.get(_EMPTIES_THE_DATABASE, False):
            with item.config.stash[blocking_manager_key].unblock():
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
