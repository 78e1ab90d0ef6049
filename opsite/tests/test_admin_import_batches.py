"""Imports read, check and write a batch of rows at once, through the batch services.

* The queries of an import do not grow with its rows: a file costs a fixed number of queries per
  batch (500 rows), and one INSERT or UPDATE per statement's worth of rows (on SQLite, whose limit
  on query parameters is the lowest, about 160 rows of a few columns). Asserted for new, unchanged
  and changed rows, for usage samples and for contract payments.
* A stored row the file leaves as it was is skipped: not written, no admin log entry, no audit
  history; re-importing an unchanged export says 0 new, 0 updated, N skipped.
* The batch services (``ModelWrites.create_many``/``update_many``) refuse what the single ones
  refuse, write nothing of a refused batch, keep the audit history with its author, and ask for
  the recompute once.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.admin.models import LogEntry
from django.db import connection
from django.test.utils import CaptureQueriesContext

from communities.models import ActiveUserCount
from communities.resources import ActiveUserCountResource
from communities.tests.factories import ActiveUserCountFactory, HubFactory
from contracts.models import ContractPayment, ServiceContract
from contracts.resources import ContractPaymentResource
from contracts.tests.factories import ContractPaymentFactory, ServiceContractFactory
from opsite.core.recompute import ROLLUPS, RUNWAY
from opsite.core.resources import import_file
from opsite.core.services import RowsRefused, writes_for

from .admin_imports import admin_url, csv_bytes, post_import

# On PostgreSQL an import that created rows ends with django-import-export resetting the table's id
# sequence (one SELECT setval); SQLite has no sequence to reset.
SEQUENCE_RESET = 1 if connection.vendor == "postgresql" else 0

pytestmark = pytest.mark.django_db

FIRST_DAY = dt.date(2024, 1, 1)
USAGE_HEADER = ["hub", "date", "period", "active_users"]


def usage_rows(count: int, *, users: int = 5) -> list[list[str]]:
    return [
        [f"q-hub-{n % 3}", (FIRST_DAY + dt.timedelta(days=n // 3)).isoformat(), "30d", str(users + n % 7)]
        for n in range(count)
    ]


def usage_csv(rows: list[list[str]]) -> str:
    return csv_bytes(USAGE_HEADER, rows).decode()


@pytest.fixture
def hubs():
    return [HubFactory(slug=f"q-hub-{n}") for n in range(3)]


def queries_of(run) -> int:
    with CaptureQueriesContext(connection) as captured:
        run()
    return len(captured.captured_queries)


# --- queries do not grow with the rows -------------------------------------------------------------

# A file of new usage samples, in one batch and one statement's worth of rows: 1 savepoint of the import, 2-3 the
# savepoint of before_import, 4 the hubs the batch names, 5 the stored samples it names, 6 the
# savepoint of create_many, 7 the unique check (hub, date, period) of the batch, 8 the INSERT, 9
# its release, 10-11 the savepoint of after_import, 12 the import's
# release.
NEW_USAGE_QUERIES = 12 + SEQUENCE_RESET
# The same file again: the samples are found unchanged and skipped; nothing is checked or written.
UNCHANGED_USAGE_QUERIES = 8
# The file with every count changed: 6 the savepoint of update_many, 7 the rows locked (found still
# there), 8 the unique check, 9 the UPDATE of the column the file changes (a CASE on the id), then
# as for new rows.
CHANGED_USAGE_QUERIES = 13


@pytest.mark.parametrize("size", [3, 150])
def test_an_import_of_usage_costs_the_same_queries_for_3_rows_as_for_150(
    hubs, size, django_assert_num_queries
):
    rows = usage_rows(size)
    with django_assert_num_queries(NEW_USAGE_QUERIES):
        import_file(ActiveUserCountResource(), usage_csv(rows), "csv")
    assert ActiveUserCount.objects.count() == size
    with django_assert_num_queries(UNCHANGED_USAGE_QUERIES):
        result = import_file(ActiveUserCountResource(), usage_csv(rows), "csv")
    assert result.totals["skip"] == size
    with django_assert_num_queries(CHANGED_USAGE_QUERIES):
        result = import_file(ActiveUserCountResource(), usage_csv(usage_rows(size, users=50)), "csv")
    assert result.totals["update"] == size
    assert set(ActiveUserCount.objects.values_list("active_users", flat=True)) <= set(range(50, 57))


def test_a_file_of_1500_rows_costs_three_times_the_queries_of_a_batch_of_500(hubs):
    one_batch = queries_of(lambda: import_file(ActiveUserCountResource(), usage_csv(usage_rows(500)), "csv"))
    ActiveUserCount.objects.all().delete()
    three_batches = queries_of(
        lambda: import_file(ActiveUserCountResource(), usage_csv(usage_rows(1_500)), "csv")
    )
    # The import's 6 savepoint queries and the hubs' lookup are the file's; the rest is the batch's:
    # its stored rows, the savepoint of create_many, the unique check, the INSERTs and the release.
    # 500 rows are one INSERT on PostgreSQL, four on SQLite (its limit of bound parameters).
    per_file = 7 + SEQUENCE_RESET
    per_batch = one_batch - per_file
    assert per_batch == 4 + (1 if connection.vendor == "postgresql" else 4)
    assert three_batches == per_file + 3 * per_batch
    assert ActiveUserCount.objects.count() == 1_500


PAYMENT_HEADER = ["id", "contract", "due_on", "amount", "paid_on"]

# A file of new payments for 2 contracts: 1 savepoint of the import, 2-3 before_import's savepoint,
# 4 the contracts the batch names, 5-6 after_import's savepoint, then the contract-total rule for
# the file (contracts_payments_check): 7 the contracts locked, and for each contract 8/10 locked
# again and 9/11 the sum of its stored payments; then the batch: 12 create_many's savepoint, 13 the
# INSERT of the payments, 14 the INSERT of their audit history, 15 release, 16 the import's release.
NEW_PAYMENT_QUERIES = 16 + SEQUENCE_RESET


@pytest.mark.parametrize("size", [4, 90])
def test_an_import_of_payments_costs_the_same_queries_for_4_rows_as_for_90(size, django_assert_num_queries):
    contracts = [
        ServiceContractFactory(reference=f"q-{n}", total_value=Decimal("1000000.00")) for n in range(2)
    ]
    rows = [["", contracts[n % 2].reference, "2024-03-31", "10.00", ""] for n in range(size)]
    with django_assert_num_queries(NEW_PAYMENT_QUERIES):
        result = import_file(ContractPaymentResource(), csv_bytes(PAYMENT_HEADER, rows).decode(), "csv")
    assert result.totals["new"] == size
    assert ContractPayment.objects.count() == size
    assert ContractPayment.history.filter(history_type="+").count() == size


# --- unchanged rows are skipped --------------------------------------------------------------------


def export_of(resource) -> bytes:
    return resource.export().csv.encode()


def test_re_importing_an_unchanged_export_writes_nothing_and_logs_nothing(root_client, hubs):
    for n, hub in enumerate(hubs):
        ActiveUserCountFactory(hub=hub, date=FIRST_DAY + dt.timedelta(days=n), period="30d", active_users=7)
    stamps = sorted(ActiveUserCount.objects.values_list("updated_at", flat=True))
    logged = LogEntry.objects.count()

    preview = post_import(
        root_client, "communities.ActiveUserCount", "usage.csv", "0", export_of(ActiveUserCountResource())
    )
    report = preview.context["report"]
    assert (report["totals"]["new"], report["totals"]["update"], report["totals"]["skip"]) == (0, 0, 3)
    assert "Every row is as stored: nothing would be written." in preview.content.decode()
    posted = dict(preview.context["confirm_form"].initial)
    done = root_client.post(admin_url("communities.ActiveUserCount", "process_import"), posted, follow=True)

    messages = [str(m) for m in done.context["messages"]]
    assert "Import finished: 0 new, 0 updated, 0 deleted and 3 skipped active user counts." in messages
    assert sorted(ActiveUserCount.objects.values_list("updated_at", flat=True)) == stamps
    assert LogEntry.objects.count() == logged


def test_a_changed_row_is_written_and_logged_and_the_unchanged_ones_are_not(root_client, hubs):
    kept = ActiveUserCountFactory(hub=hubs[0], date=FIRST_DAY, period="30d", active_users=7)
    changed = ActiveUserCountFactory(hub=hubs[1], date=FIRST_DAY, period="30d", active_users=7)
    content = (
        export_of(ActiveUserCountResource())
        .decode()
        .replace("q-hub-1,2024-01-01,30d,7", "q-hub-1,2024-01-01,30d,9")
    )
    preview = post_import(root_client, "communities.ActiveUserCount", "usage.csv", "0", content.encode())
    assert [row["kind"] for row in preview.context["report"]["rows"]] == ["update"]
    [cells] = [row["cells"] for row in preview.context["report"]["rows"]]
    assert cells[-1] == {"value": "9", "was": "7", "changed": True}
    root_client.post(
        admin_url("communities.ActiveUserCount", "process_import"),
        dict(preview.context["confirm_form"].initial),
    )
    changed.refresh_from_db()
    assert changed.active_users == 9
    entries = LogEntry.objects.filter(object_id__in=[str(kept.pk), str(changed.pk)])
    assert [entry.object_id for entry in entries] == [str(changed.pk)]


def test_an_unchanged_payment_writes_no_audit_history():
    payment = ContractPaymentFactory(contract=ServiceContractFactory(reference="kept"))
    before = ContractPayment.history.count()
    result = import_file(ContractPaymentResource(), export_of(ContractPaymentResource()).decode(), "csv")
    assert [row.import_type for row in result.rows] == ["skip"]
    assert ContractPayment.history.count() == before
    content = export_of(ContractPaymentResource()).decode().replace(",1000.00,", ",900.00,")
    result = import_file(ContractPaymentResource(), content, "csv")
    assert [row.import_type for row in result.rows] == ["update"]
    assert ContractPayment.history.filter(id=payment.pk, history_type="~", amount=Decimal("900.00")).exists()


# --- the batch services ----------------------------------------------------------------------------


def test_create_many_refuses_what_create_refuses_and_writes_none_of_the_batch(hubs):
    writes = writes_for(ActiveUserCount)
    good = ActiveUserCount(hub=hubs[0], date=FIRST_DAY, period="30d", active_users=3)
    bad = ActiveUserCount(hub=hubs[1], date=dt.date(1999, 1, 1), period="30d", active_users=3)
    with pytest.raises(RowsRefused) as refused:
        writes.create_many([good, bad])
    assert list(refused.value.errors) == [1]
    assert refused.value.errors[1].message_dict == {
        "date": ["1999-01-01 is outside the dates opsite accepts, 2000-01-01 to 2100-12-31; check the year."]
    }
    assert not ActiveUserCount.objects.exists()


def test_create_many_refuses_a_row_repeating_a_stored_one_or_another_of_the_batch(hubs):
    writes = writes_for(ActiveUserCount)
    ActiveUserCountFactory(hub=hubs[0], date=FIRST_DAY, period="30d")
    rows = [
        ActiveUserCount(hub=hubs[0], date=FIRST_DAY, period="30d", active_users=1),
        ActiveUserCount(hub=hubs[1], date=FIRST_DAY, period="30d", active_users=1),
        ActiveUserCount(hub=hubs[1], date=FIRST_DAY, period="30d", active_users=2),
    ]
    with pytest.raises(RowsRefused) as refused:
        writes.create_many(rows)
    message = "Active user count with this Hub, Date and Period already exists."
    assert {position: error.messages for position, error in refused.value.errors.items()} == {
        0: [message],
        2: [message],
    }


def test_update_many_refuses_a_row_deleted_meanwhile_instead_of_writing_it_again(hubs):
    count = ActiveUserCountFactory(hub=hubs[0], date=FIRST_DAY, period="30d", active_users=1)
    count.active_users = 2
    ActiveUserCount.objects.filter(pk=count.pk).delete()
    with pytest.raises(RowsRefused) as refused:
        writes_for(ActiveUserCount).update_many([count], ["active_users"])
    assert refused.value.errors[0].messages == [
        "This active user count was deleted while it was being changed; nothing was saved."
    ]
    assert not ActiveUserCount.objects.exists()


def test_batch_writes_keep_the_audit_history_with_its_author_and_ask_for_the_recompute_once(
    superuser, django_capture_on_commit_callbacks
):
    from opsite.core import recompute

    contract = ServiceContractFactory(reference="audited")
    payments = [
        ContractPayment(contract=contract, due_on=FIRST_DAY, amount=Decimal("10.00")) for _ in range(3)
    ]
    asked = []
    original = recompute.request_recompute
    recompute.request_recompute = lambda *kinds, **kwargs: asked.append(kinds)
    try:
        writes_for(ContractPayment).create_many(payments, user=superuser)
        for payment in payments:
            payment.amount = Decimal("20.00")
        writes_for(ContractPayment).update_many(payments, ["amount"], user=superuser)
    finally:
        recompute.request_recompute = original
    assert asked == [(RUNWAY,), (RUNWAY,)]
    history = ContractPayment.history.filter(id__in=[p.pk for p in payments])
    assert sorted(history.values_list("history_type", flat=True)) == ["+"] * 3 + ["~"] * 3
    assert set(history.values_list("history_user", flat=True)) == {superuser.pk}
    assert set(ContractPayment.objects.values_list("amount", flat=True)) == {Decimal("20.00")}
    assert ROLLUPS not in {kind for kinds in asked for kind in kinds}
    assert ServiceContract.objects.count() == 1


@pytest.fixture
def root_client(superuser):
    from .admin_imports import client_for

    return client_for(superuser)
