"""A file past ``OPSITE_IMPORT_BACKGROUND_ROWS`` rows is previewed and imported by a Celery task.

Celery is eager in the tests, as in the embedded default: the task runs once the request's writes
are committed, and the page the admin answers with is the job's result. The job is its user's
(and superusers'); its file is kept in the default storage between the preview and the confirm,
and deleted when the job ends.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from datetime import timedelta
from unittest import mock

import pytest
from django.contrib.admin.models import LogEntry
from django.core.files.storage import default_storage
from django.utils import timezone

from communities.models import ActiveUserCount
from communities.tests.factories import HubFactory
from opsite.core import import_jobs
from opsite.core.models import ImportJob

from .admin_imports import client_for, csv_bytes, post_import

pytestmark = pytest.mark.django_db

USAGE = "communities.ActiveUserCount"
HEADER = ["hub", "date", "period", "active_users"]


@pytest.fixture
def big(settings):
    """Files of more than 5 rows go to the background."""
    settings.OPSITE_IMPORT_BACKGROUND_ROWS = 5
    HubFactory(slug="north")


def usage(count: int, *, bad_row: int | None = None) -> bytes:
    rows = [
        ["north", (dt.date(2024, 1, 1) + timedelta(days=n)).isoformat(), "30d", str(n)] for n in range(count)
    ]
    if bad_row is not None:
        rows[bad_row - 1][3] = "many"
    return csv_bytes(HEADER, rows)


def start(client, data: bytes, run) -> ImportJob:
    with run(execute=True):
        response = post_import(client, USAGE, "usage.csv", "0", data)
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"].endswith(f"/import/job/{job.pk}/")
    return job


def test_a_big_file_is_previewed_then_imported_in_the_background(
    big, operations_user, django_capture_on_commit_callbacks
):
    client = client_for(operations_user)
    job = start(client, usage(12), django_capture_on_commit_callbacks)
    job.refresh_from_db()
    assert (job.stage, job.state, job.total_rows) == ("preview", "succeeded", 12)
    assert job.report["totals"]["new"] == 12
    assert default_storage.exists(job.file_name)
    assert not ActiveUserCount.objects.exists()
    page = client.get(f"/admin/communities/activeusercount/import/job/{job.pk}/")
    assert "checked, ready to import." in page.content.decode()
    assert "Confirm import" in page.content.decode()
    assert client.get(f"/admin/communities/activeusercount/import/job/{job.pk}/status.json").json() == {
        "id": job.pk,
        "stage": "preview",
        "state": "succeeded",
        "finished": True,
        "done": 12,
        "total": 12,
        "url": f"/admin/communities/activeusercount/import/job/{job.pk}/",
    }
    stored = job.file_name

    with django_capture_on_commit_callbacks(execute=True):
        confirmed = client.post(f"/admin/communities/activeusercount/import/job/{job.pk}/confirm/")
    assert confirmed.status_code == 302
    job.refresh_from_db()
    assert (job.stage, job.state, job.file_name) == ("import", "succeeded", "")
    assert not default_storage.exists(stored)
    assert ActiveUserCount.objects.count() == 12
    assert LogEntry.objects.filter(user=operations_user).count() == 12
    done = client.get(f"/admin/communities/activeusercount/import/job/{job.pk}/").content.decode()
    assert "Import finished: 12 new, 0 updated and 0 skipped (unchanged) active user counts." in done

    # A second confirmation (a double click, a replayed form) imports nothing more.
    with django_capture_on_commit_callbacks(execute=True):
        again = client.post(f"/admin/communities/activeusercount/import/job/{job.pk}/confirm/", follow=True)
    assert "can no longer be confirmed" in again.content.decode()
    assert ActiveUserCount.objects.count() == 12


def test_a_big_file_with_a_bad_row_is_refused_and_its_file_deleted(
    big, operations_user, django_capture_on_commit_callbacks
):
    client = client_for(operations_user)
    job = start(client, usage(9, bad_row=7), django_capture_on_commit_callbacks)
    job.refresh_from_db()
    assert job.state == "refused"
    assert job.file_name == ""
    [problem] = job.report["problems"]
    assert (problem["row"], problem["column"], problem["value"]) == (7, "active_users", "many")
    assert problem["expected"] == "a whole number, such as 120"
    page = client.get(f"/admin/communities/activeusercount/import/job/{job.pk}/").content.decode()
    assert "refused: nothing was written." in page and "Confirm import" not in page
    assert not ActiveUserCount.objects.exists()


def test_a_job_is_seen_only_by_its_user_and_superusers(
    big, operations_user, finance_user, superuser, django_capture_on_commit_callbacks
):
    job = start(client_for(operations_user), usage(8), django_capture_on_commit_callbacks)
    base = f"/admin/communities/activeusercount/import/job/{job.pk}/"
    other = client_for(finance_user)
    assert other.get(base).status_code == 404
    assert other.get(base + "status.json").status_code == 404
    assert other.post(base + "confirm/").status_code == 404
    assert client_for(superuser).get(base).status_code == 200
    # Nor under another model's import.
    assert client_for(operations_user).get(f"/admin/communities/hub/import/job/{job.pk}/").status_code == 404
    job.refresh_from_db()
    assert job.stage == "preview"


def test_a_preview_left_unconfirmed_expires_and_its_file_is_deleted(
    big, operations_user, settings, django_capture_on_commit_callbacks
):
    client = client_for(operations_user)
    job = start(client, usage(8), django_capture_on_commit_callbacks)
    job.refresh_from_db()
    stored = job.file_name
    ImportJob.objects.filter(pk=job.pk).update(
        created_at=timezone.now() - timedelta(seconds=settings.OPSITE_IMPORT_CONFIRM_MAX_AGE + 1)
    )
    assert import_jobs.expire_stale() == 1
    job.refresh_from_db()
    assert (job.state, job.file_name) == ("expired", "")
    assert not default_storage.exists(stored)
    response = client.post(f"/admin/communities/activeusercount/import/job/{job.pk}/confirm/", follow=True)
    assert "can no longer be confirmed" in response.content.decode()
    assert not ActiveUserCount.objects.exists()


def test_a_file_up_to_the_threshold_is_previewed_while_the_browser_waits(big, operations_user):
    response = post_import(client_for(operations_user), USAGE, "usage.csv", "0", usage(5))
    assert response.status_code == 200
    assert response.context["confirm_form"] is not None
    assert not ImportJob.objects.exists()


def test_the_task_is_registered_when_a_worker_starts():
    """A worker (a fresh process) knows the task by name once Django has started."""
    script = (
        "import django; django.setup();"
        "from opsite.celery import app;"
        f"print({import_jobs.TASK_NAME!r} in app.tasks)"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "opsite.settings.test"}
    answer = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True
    )
    assert answer.stdout.strip().splitlines()[-1] == "True"


def test_a_job_the_broker_cannot_take_fails_and_deletes_its_file(
    big, operations_user, django_capture_on_commit_callbacks
):
    client = client_for(operations_user)

    def stored() -> set[str]:
        return (
            set(default_storage.listdir(import_jobs.STORAGE_FOLDER)[1])
            if default_storage.exists(import_jobs.STORAGE_FOLDER)
            else set()
        )

    before = stored()
    with mock.patch.object(import_jobs.run_import_job, "delay", side_effect=OSError("broker down")):
        job = start(client, usage(8), django_capture_on_commit_callbacks)
    job.refresh_from_db()
    assert (job.state, job.file_name) == ("failed", "")
    assert job.last_error == "not sent to a worker: OSError"
    assert stored() == before
    page = client.get(f"/admin/communities/activeusercount/import/job/{job.pk}/").content.decode()
    assert "failed: nothing was written." in page
