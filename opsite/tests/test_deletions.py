"""Deletion stamps of the incremental rollups' inputs (opsite.core.deletions)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from communities.models import CloudCost
from communities.tests.factories import CloudCostFactory, HubFactory
from opsite.core.deletions import deleted_since, stamped_once
from opsite.core.models import InputDeletion

pytestmark = pytest.mark.django_db

NOW = datetime(2024, 5, 1, 12, tzinfo=UTC)
LABEL = "communities.CloudCost"


def costs(count: int) -> None:
    hub = HubFactory(cluster="a")
    for day in range(count):
        CloudCostFactory(hub=hub, date=date(2024, 1, 1) + timedelta(days=day))


def stamp_writes(queries) -> int:
    return sum(1 for query in queries.captured_queries if "opsite_inputdeletion" in query["sql"])


def test_each_deleted_cost_stamps_its_model_and_a_batch_stamps_it_once():
    costs(3)
    with time_machine.travel(NOW, tick=False):
        with CaptureQueriesContext(connection) as each:
            CloudCost.objects.filter(date=date(2024, 1, 1)).delete()
        with CaptureQueriesContext(connection) as batch, stamped_once():
            CloudCost.objects.all().delete()

    assert (stamp_writes(each), stamp_writes(batch)) == (1, 1)
    assert deleted_since(LABEL, NOW)
    assert not deleted_since(LABEL, NOW + timedelta(seconds=1))


def test_a_batch_rolled_back_leaves_no_stamp():
    costs(2)

    with pytest.raises(RuntimeError), transaction.atomic(), stamped_once():
        CloudCost.objects.all().delete()
        raise RuntimeError("the import failed")

    assert not InputDeletion.objects.filter(label=LABEL).exists()
    assert CloudCost.objects.count() == 2
