"""Fixtures of the site-wide tests."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def api_world(django_db_setup, django_db_blocker):
    """The world of the API-wide tests (``test_api_matrix``), built once for each module using it
    and rolled back after it: the demo organization, one row in every table, the personas."""
    from opsite.tests.test_api_matrix import api_world_for_module

    with api_world_for_module(django_db_blocker) as world:
        yield world


@pytest.fixture
def personas(api_world, settings):
    """The personas of the API-wide tests by name, with the API's throttle off."""
    from opsite.tests.test_api_matrix import unthrottled

    unthrottled(settings)
    return api_world


@pytest.fixture
def browser(monkeypatch):
    """Debian's Chromium, headless (skipped on a workstation without it, failed in CI)."""
    from conftest import require_executable
    from opsite.tests.browser import CHROMIUM_ARGS

    chromium = require_executable("chromium")
    # Playwright's sync API runs an event loop in this thread; the ORM calls the test makes
    # between browser steps are safe (nothing else uses this thread's connection meanwhile).
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def demo_computed():
    """The demo as of DEMO_TODAY, committed, with its rollups and runway snapshots computed."""
    from funding.models import RunwaySnapshot
    from opsite.demo.loader import DEMO_TODAY, demo_load
    from opsite.kpis.models import Rollup
    from opsite.kpis.rollups import recompute_rollups

    demo_load(today=DEMO_TODAY)  # its recompute runs inline once it commits (eager Celery)
    if not Rollup.objects.filter(key="kpis:latest").exists():
        recompute_rollups()
    assert RunwaySnapshot.objects.filter(scenario__slug="base").exists()
