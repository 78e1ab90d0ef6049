"""Benchmark: the admin import of 10,000 rows, previewed and confirmed, against ``bulk_create``.

Through the admin's own pages (Django's test client, a logged-in superuser), with the default
settings: a file of 10,000 rows is past ``OPSITE_IMPORT_BACKGROUND_ROWS``, so the preview and the
import run as a Celery task, eager here as in the embedded default (the page answers once the task
is done). Two files:

* ``admin_import_usage``: 10,000 active user counts of 200 hubs, new rows;
* ``admin_import_payments``: 10,000 contract payments of 500 contracts, new rows (checked as a set
  against each contract's total value, written with their audit history).

Each step is timed against ``bulk_create`` of the same rows (the instances built from the parsed
rows, their relations looked up, inserted in one transaction; a payment with its audit record, by
simple-history's ``bulk_create_with_history``, as every payment is stored), measured in the same run
on the same tables: the import first, then the baseline, best of three each. Budget: preview and confirm each
within 3x the baseline. The seconds are printed for the record, never asserted. The recompute the
writes ask for is stubbed out: in production it is queued for a worker, not part of the import.

Run alone with ``python bench/imports.py``, or through ``make bench``.
"""

from __future__ import annotations

import csv
import io
import re
import sys
import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

if not __package__:
    # Run as a script: the repository's root, for ``bench`` and the project.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.run import over_budget, smoke

BUDGET = 3.0
# A smoke run (bench/run.py --smoke): 2,500 rows, still past OPSITE_IMPORT_BACKGROUND_ROWS, once.
ROWS = 2_500 if smoke() else 10_000
HUBS = 200
CONTRACTS = 500
ROUNDS = 1 if smoke() else 3
FIRST_DAY = date(2024, 1, 1)


def _timed(function) -> tuple[float, object]:
    started = time.perf_counter()
    answer = function()
    return time.perf_counter() - started, answer


def _csv(header: list[str], rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


# --- the data ------------------------------------------------------------------------------------


def _setup() -> tuple[list[str], list[str]]:
    """Communities with hubs, contracts with room for their payments; the hub slugs, the references."""
    from communities.models import Community, Hub
    from contracts.models import ServiceContract

    community = Community.objects.create(
        slug="bench", name="Bench", kind="university", country="KE", joined_on=FIRST_DAY
    )
    Hub.objects.bulk_create(
        [
            Hub(
                slug=f"bench-hub-{n}",
                community=community,
                name=f"Hub {n}",
                provider="gcp",
                launched_on=FIRST_DAY,
            )
            for n in range(HUBS)
        ]
    )
    ServiceContract.objects.bulk_create(
        [
            ServiceContract(
                reference=f"bench-{n}",
                community=community,
                category="hub_service",
                status="proposed",
                start_on=FIRST_DAY,
                end_on=date(2026, 12, 31),
                total_value=Decimal("1000000.00"),
                currency="USD",
            )
            for n in range(CONTRACTS)
        ]
    )
    return [f"bench-hub-{n}" for n in range(HUBS)], [f"bench-{n}" for n in range(CONTRACTS)]


def _usage_rows(hubs: list[str]) -> list[list[str]]:
    return [
        [hubs[n % HUBS], (FIRST_DAY + timedelta(days=n // HUBS)).isoformat(), "30d", str(5 + n % 300)]
        for n in range(ROWS)
    ]


def _payment_rows(contracts: list[str]) -> list[list[str]]:
    return [
        [
            "",
            contracts[n % CONTRACTS],
            (FIRST_DAY + timedelta(days=n % 700)).isoformat(),
            f"{100 + n % 50}.00",
            "",
        ]
        for n in range(ROWS)
    ]


# --- the baselines -------------------------------------------------------------------------------


def _bulk_usage(rows: list[list[str]]) -> None:
    from django.db import transaction

    from communities.models import ActiveUserCount, Hub

    with transaction.atomic():
        hubs = dict(Hub.objects.values_list("slug", "pk"))
        ActiveUserCount.objects.bulk_create(
            [
                ActiveUserCount(
                    hub_id=hubs[hub], date=date.fromisoformat(day), period=period, active_users=int(users)
                )
                for hub, day, period, users in rows
            ],
            batch_size=500,
        )


def _bulk_payments(rows: list[list[str]]) -> None:
    from django.db import transaction
    from simple_history.utils import bulk_create_with_history

    from contracts.models import ContractPayment, ServiceContract

    with transaction.atomic():
        contracts = dict(ServiceContract.objects.values_list("reference", "pk"))
        # A payment is stored with its audit record: simple-history's own bulk insert writes both.
        bulk_create_with_history(
            [
                ContractPayment(
                    contract_id=contracts[reference], due_on=date.fromisoformat(day), amount=Decimal(amount)
                )
                for _, reference, day, amount, _ in rows
            ],
            ContractPayment,
            batch_size=500,
        )


# --- the admin ------------------------------------------------------------------------------------


def _admin_client():
    from django.contrib.auth import get_user_model
    from django.test import Client

    user = get_user_model().objects.filter(
        username="bench"
    ).first() or get_user_model().objects.create_superuser(
        "bench", "bench@example.org", "bench-not-a-password"
    )
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    return client


def _preview(client, page: str, data: bytes) -> str:
    """Upload ``data`` on ``page`` (the import page); the address of the preview's page."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client.post(page, {"import_file": SimpleUploadedFile("bench.csv", data), "format": "0"})
    if response.status_code != 302:
        raise SystemExit(f"imports: the preview of {page} did not start a job ({response.status_code})")
    job_page = response["Location"]
    if "checked, ready to import." not in client.get(job_page).content.decode():
        raise SystemExit(f"imports: the preview of {page} was not ready to confirm")
    return job_page


def _confirm(client, job_page: str) -> str:
    client.post(job_page + "confirm/")
    return client.get(job_page).content.decode()


def _measure(name: str, *, page: str, data: bytes, written, baseline, empty) -> bool:
    """Best of :data:`ROUNDS`: preview, confirm, then the baseline, on emptied tables each time."""
    client = _admin_client()
    previews, confirms, baselines = [], [], []
    from bench.run import recompute_stubbed

    for _ in range(ROUNDS):
        with recompute_stubbed():
            seconds, job_page = _timed(lambda: _preview(client, page, data))
            previews.append(seconds)
            seconds, done = _timed(lambda page=job_page: _confirm(client, page))
            confirms.append(seconds)
        finished = re.search(r"Import finished: ([0-9,]+) new", done)
        if finished is None or int(finished.group(1).replace(",", "")) != ROWS or written() != ROWS:
            raise SystemExit(f"imports: {name} did not write its {ROWS:,} rows")
        empty()
        seconds, _ = _timed(baseline)
        baselines.append(seconds)
        empty()
    base = min(baselines)
    ok = True
    for step, times in (("preview", previews), ("confirm", confirms)):
        seconds = min(times)
        ratio = seconds / base
        ok = ok and ratio <= BUDGET
        print(
            f"{name}_{step} ratio_vs_bulk_create={ratio:.2f} seconds={seconds:.2f} "
            f"baseline_seconds={base:.2f} rows={ROWS} budget={BUDGET:.1f} "
            f"{'ok' if ratio <= BUDGET else 'OVER BUDGET'}",
            flush=True,
        )
    return ok


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="opsite-bench-imports-") as tmp:
        from bench.run import ensure_django

        ensure_django(Path(tmp) / "imports.sqlite3")
        from django.contrib.admin.models import LogEntry

        from communities.models import ActiveUserCount
        from contracts.models import ContractPayment

        hubs, contracts = _setup()
        usage = _usage_rows(hubs)
        payments = _payment_rows(contracts)

        def empty_usage() -> None:
            ActiveUserCount.objects.all().delete()
            LogEntry.objects.all().delete()

        def empty_payments() -> None:
            ContractPayment.objects.all().delete()
            ContractPayment.history.all().delete()
            LogEntry.objects.all().delete()

        results = [
            _measure(
                "admin_import_usage",
                page="/admin/communities/activeusercount/import/",
                data=_csv(["hub", "date", "period", "active_users"], usage),
                written=ActiveUserCount.objects.count,
                baseline=lambda: _bulk_usage(usage),
                empty=empty_usage,
            ),
            _measure(
                "admin_import_payments",
                page="/admin/contracts/contractpayment/import/",
                data=_csv(["id", "contract", "due_on", "amount", "paid_on"], payments),
                written=ContractPayment.objects.count,
                baseline=lambda: _bulk_payments(payments),
                empty=empty_payments,
            ),
        ]
    if not all(results):
        over_budget(f"imports: over the {BUDGET:.0f}x budget")


if __name__ == "__main__":
    # Run as a script: the repository's root, for ``bench.run`` and the project.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    main()
