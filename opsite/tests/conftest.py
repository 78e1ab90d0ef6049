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
