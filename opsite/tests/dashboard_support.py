"""What the leadership dashboard's tests share: the demo computed once per class, the endpoints,
and small readers of their answers.

The demo is loaded for a pinned day (DEMO_TODAY) and runs to the last month-end before it;
anything that depends on "today" is set relative to its cash position.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import date

import pytest
import time_machine
from dateutil.relativedelta import relativedelta
from django.apps import apps
from django.test import Client

from funding.runway.snapshots import runway_recompute_all
from opsite.core.roles import OPSITE_APPS
from opsite.dashboard.selectors import latest_cash_position_date
from opsite.demo.loader import DEMO_TODAY, demo_load
from opsite.kpis.rollups import recompute_rollups
from opsite.tests.shared_rows import shared_rows

URL = "/leadership/"
WHAT_IF = "/leadership/what-if/"
SAVE = "/leadership/what-if/save/"


@pytest.fixture(scope="class")
def demo(django_db_setup, django_db_blocker):
    """The demo with its rollups and runway computed, once for a class, rolled back after it."""

    def build():
        demo_load(today=DEMO_TODAY)
        # Inside this transaction the recompute the demo asks for never runs (it waits for a
        # commit that never comes): compute what the dashboard reads here.
        recompute_rollups()
        runway_recompute_all()

    with shared_rows(django_db_blocker, build):
        yield


def cash_day() -> date:
    """The day of the cash position the runway starts from."""
    day = latest_cash_position_date()
    assert day is not None, "the demo records a cash position"
    return day


def months_after_cash(months: int) -> str:
    """The first day of the month ``months`` after the cash position's, as a what-if takes it."""
    return (cash_day().replace(day=1) + relativedelta(months=months)).isoformat()


def hire(**extra) -> dict:
    """A what-if hire starting the month after the cash position."""
    return {
        "kind": "hire",
        "label": "Data engineer",
        "amount": "150000.00",
        "benefits_rate": "0.25",
        "start_on": months_after_cash(1),
        **extra,
    }


def page_on(day: date, user, url: str = URL) -> str:
    """The page as ``user`` sees it on ``day`` (logged in that day: a session from the real today
    would have expired in a later one)."""
    with time_machine.travel(day, tick=False):
        client = Client()
        client.force_login(user)
        response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def post_json(client: Client, url: str, body) -> object:
    return client.post(url, json.dumps(body), content_type="application/json")


def csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode())))


def figures_of(content: str) -> dict:
    """The chart figures the page hands its script."""
    return json.loads(
        content.split('id="dashboard-figures" type="application/json">')[1].split("</script>")[0]
    )


def checksum() -> str:
    """A digest of every row of every table of the apps (and the rollup store)."""
    digest = hashlib.sha256()
    models = [
        model for label in (*OPSITE_APPS, "opsite") for model in apps.get_app_config(label).get_models()
    ]
    for model in sorted(models, key=lambda model: model._meta.label):
        digest.update(model._meta.label.encode())
        for row in model.objects.order_by("pk").values_list():
            digest.update(repr(row).encode())
    return digest.hexdigest()
