"""What the public website kit's tests share: a small organization with its rollups, a worker
clock moved by hand, and caches emptied between tests (each worker keeps what it rendered)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
import time_machine
from django.core.cache import cache
from django.test import override_settings

from opsite.kpis import page, rollups, views
from opsite.kpis.api import public, public_kit
from opsite.tests import factories
from opsite.tests.factories import MONTH_ENDS
from opsite.tests.shared_rows import shared_rows

AS_OF = MONTH_ENDS[-1]
NOW = datetime(2025, 6, 1, 12, tzinfo=UTC)
ALLOWED_ORIGIN = "https://www.example.org"


class WorkerClock:
    """The clock a worker times its trust in what it read by, moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def pass_version_ttl(self) -> None:
        self.now += public.VERSION_TTL


def pass_version_ttl() -> None:
    """Move the worker's clock past the time it trusts what it read (the autouse fixture's clock)."""
    public._clock.pass_version_ttl()


def forget_everything_rendered() -> None:
    views._forget()
    public._forget_bodies()
    public_kit.forget_data_files()
    page.forget()


@pytest.fixture(autouse=True)
def worker_clock(monkeypatch):
    clock = WorkerClock()
    monkeypatch.setattr(public, "_clock", clock)
    forget_everything_rendered()
    cache.clear()  # the public throttle counts in the cache
    yield clock
    forget_everything_rendered()
    cache.clear()


def build_organization() -> dict:
    """Three hubs with samples, a key upstream community with pull requests, staff; recomputed."""
    organization = factories.build_organization(hubs=3)
    with override_settings(OPSITE_CONTRIBUTIONS_SINCE="2021-01-01"), time_machine.travel(NOW, tick=False):
        rollups.recompute_rollups(as_of=AS_OF)
    return organization


@pytest.fixture(scope="module")
def stored_organization(django_db_setup, django_db_blocker):
    """The organization, built once for the module and rolled back after it."""
    with shared_rows(django_db_blocker, build_organization) as built:
        yield built


@pytest.fixture
def organization(stored_organization, settings):
    settings.OPSITE_CONTRIBUTIONS_SINCE = "2021-01-01"
    settings.OPSITE_PUBLIC_FUNDING = False
    settings.OPSITE_PUBLIC_HUB_DATA = False
    return stored_organization


@pytest.fixture
def cors(settings):
    settings.CORS_ALLOWED_ORIGINS = [ALLOWED_ORIGIN]


def kpis() -> dict:
    """The KPI block the public API serves, as stored."""
    return rollups.get_rollup(rollups.KPIS_LATEST).value


def text_of(html: str, element_id: str) -> str:
    """The text of the element with ``element_id`` in ``html`` (an element without children)."""
    found = re.search(rf'id="{re.escape(element_id)}"[^>]*>([^<]*)<', html)
    assert found, f"no #{element_id}"
    return found.group(1).strip()
