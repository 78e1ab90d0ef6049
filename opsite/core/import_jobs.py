"""Admin imports too big to wait for: previewed, then imported, by a Celery task.

A file of more than ``OPSITE_IMPORT_BACKGROUND_ROWS`` rows is not imported while the browser
waits. The admin stores it in the default storage and starts an :class:`ImportJob`:

1. **preview**: the task dry-runs the file (as the admin's own preview does) and keeps the
   report (:mod:`opsite.core.import_report`); the page polls the job's status and shows the
   report when it is ready, with a button to confirm;
2. **import**: once its user confirms, the task imports the file for real, writes the admin log
   entries in that user's name, and keeps the report of what was written.

The file is deleted when the job ends, whatever the outcome, and a preview left unconfirmed past
``OPSITE_IMPORT_CONFIRM_MAX_AGE`` expires (its file deleted) the next time a job starts. Progress
(rows done) goes through the cache, because the rows are written in one transaction that no other
connection sees until it commits; the job's state is in the database.

In the embedded default Celery runs tasks eagerly: the job is done by the time the admin answers,
and the first page shown is its result.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from types import SimpleNamespace

from celery import shared_task
from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from .import_report import build_report
from .imports import ImportRefused
from .models import ImportJob

logger = logging.getLogger(__name__)

DEFAULT_BACKGROUND_ROWS = 2_000
STORAGE_FOLDER = "import-jobs"
TASK_NAME = "opsite.core.import_jobs.run_import_job"
# A preview or an import of the largest file allowed takes well under a minute; these bound a
# task that would hang on a locked database.
SOFT_TIME_LIMIT = 20 * 60
TIME_LIMIT = 25 * 60


def background_rows() -> int:
    """Files of more rows than this are imported by a task (``OPSITE_IMPORT_BACKGROUND_ROWS``)."""
    return getattr(settings, "OPSITE_IMPORT_BACKGROUND_ROWS", DEFAULT_BACKGROUND_ROWS)


def _progress_key(job_id: int) -> str:
    return f"opsite:import-job:{job_id}:done"


def start(
    *,
    user,
    model_label: str,
    data: bytes,
    extension: str,
    original_name: str,
    format_index: int,
    resource_index: int,
    total_rows: int,
) -> ImportJob:
    """Store the file and start the preview of ``data`` for ``user``."""
    expire_stale()
    name = default_storage.save(f"{STORAGE_FOLDER}/{uuid.uuid4().hex}.{extension}", ContentFile(data))
    job = ImportJob.objects.create(
        user=user,
        model_label=model_label,
        resource_index=resource_index,
        format_index=format_index,
        original_name=original_name[:255],
        file_name=name,
        total_rows=total_rows,
    )
    _enqueue(job)
    return job


def confirm(job: ImportJob) -> bool:
    """Start the import of a previewed job; ``False`` if it is no longer a preview to confirm.

    The job is claimed with a conditional update, so a double click starts one import.
    """
    if job.created_at < timezone.now() - _max_age():
        _expire(job)
        return False
    claimed = ImportJob.objects.filter(
        pk=job.pk, stage=ImportJob.Stage.PREVIEW, state=ImportJob.State.SUCCEEDED
    ).update(
        stage=ImportJob.Stage.IMPORT,
        state=ImportJob.State.QUEUED,
        finished_at=None,
        updated_at=timezone.now(),
    )
    if not claimed:
        return False
    job.refresh_from_db()
    _enqueue(job)
    return True


def _enqueue(job: ImportJob) -> None:
    cache.set(_progress_key(job.pk), 0, timeout=TIME_LIMIT)
    job_id = job.pk
    # After the commit that stored the job, so a worker never looks for a row it cannot see yet.
    transaction.on_commit(lambda: _publish(job_id))


def _publish(job_id: int) -> None:
    """Send the job to a worker; a broker that cannot be reached fails the job, not the page.

    Publishing is bounded in time by the broker settings (``CELERY_TASK_PUBLISH_RETRY_POLICY``).
    """
    try:
        run_import_job.delay(job_id)
    except Exception as error:
        logger.exception("import job %s could not be sent to a worker", job_id)
        job = ImportJob.objects.get(pk=job_id)
        if job.state == ImportJob.State.QUEUED:
            _delete_file(job)
            ImportJob.objects.filter(pk=job_id, state=ImportJob.State.QUEUED).update(
                state=ImportJob.State.FAILED,
                file_name="",
                finished_at=timezone.now(),
                last_error=f"not sent to a worker: {type(error).__name__}"[:500],
                updated_at=timezone.now(),
            )


def _max_age() -> timedelta:
    from .admin_import import confirm_max_age

    return timedelta(seconds=confirm_max_age())


def expire_stale() -> int:
    """Expire the previews no one confirmed in time, deleting their files; how many expired."""
    stale = ImportJob.objects.filter(
        stage=ImportJob.Stage.PREVIEW,
        state=ImportJob.State.SUCCEEDED,
        created_at__lt=timezone.now() - _max_age(),
    )
    count = 0
    for job in stale:
        _expire(job)
        count += 1
    return count


def _expire(job: ImportJob) -> None:
    _delete_file(job)
    ImportJob.objects.filter(pk=job.pk, state=ImportJob.State.SUCCEEDED).update(
        state=ImportJob.State.EXPIRED, file_name="", updated_at=timezone.now()
    )
    job.refresh_from_db()


def _delete_file(job: ImportJob) -> None:
    if job.file_name:
        try:
            default_storage.delete(job.file_name)
        except OSError:  # already gone: nothing to clean
            logger.info("import job %s: its file was already deleted", job.pk)


def visible_job(user, pk, model_label: str) -> ImportJob | None:
    """The job ``pk`` of ``model_label`` if ``user`` may see it (its own, or any for a superuser)."""
    jobs = ImportJob.objects.filter(pk=pk, model_label=model_label)
    if not user.is_superuser:
        jobs = jobs.filter(user=user)
    return jobs.first()


def status(job: ImportJob) -> dict:
    """The job's state for the polling page (JSON)."""
    done = job.total_rows if job.finished else cache.get(_progress_key(job.pk), 0)
    return {
        "id": job.pk,
        "stage": job.stage,
        "state": job.state,
        "finished": job.finished,
        "done": min(int(done or 0), job.total_rows),
        "total": job.total_rows,
    }


# --- the task --------------------------------------------------------------------------------------


def model_admin_for(label: str):
    """The admin of ``label``'s model: its import formats and resources are the job's."""
    return admin.site._registry[apps.get_model(label)]


@shared_task(name=TASK_NAME, soft_time_limit=SOFT_TIME_LIMIT, time_limit=TIME_LIMIT)
def run_import_job(job_id: int) -> str:
    """Run the queued stage of job ``job_id``; answers its final state.

    The job is claimed with a conditional update (queued to running), so a task delivered twice
    runs once.
    """
    claimed = ImportJob.objects.filter(pk=job_id, state=ImportJob.State.QUEUED).update(
        state=ImportJob.State.RUNNING, updated_at=timezone.now()
    )
    if not claimed:
        return "not queued"
    job = ImportJob.objects.select_related("user").get(pk=job_id)
    try:
        state, report = _run(job)
    except Exception as error:
        logger.exception("import job %s failed", job.pk)
        state = ImportJob.State.FAILED
        report = {}
        job.last_error = f"{type(error).__name__}: {error}"[:500]
    keep_file = job.stage == ImportJob.Stage.PREVIEW and state == ImportJob.State.SUCCEEDED
    if not keep_file:
        _delete_file(job)
        job.file_name = ""
    job.state = state
    job.report = report
    job.finished_at = timezone.now()
    job.save(update_fields=["state", "report", "finished_at", "file_name", "last_error", "updated_at"])
    cache.delete(_progress_key(job.pk))
    return state


def _run(job: ImportJob) -> tuple[str, dict]:
    model_admin = model_admin_for(job.model_label)
    request = SimpleNamespace(user=job.user, method="POST", GET={}, POST={}, FILES={}, META={})
    try:
        with default_storage.open(job.file_name, "rb") as stored:
            content = stored.read()
    except (OSError, FileNotFoundError):
        return ImportJob.State.FAILED, {"file_errors": ["The uploaded file is no longer stored."]}
    try:
        dataset = model_admin.get_import_formats()[job.format_index]().create_dataset(content)
    except ImportRefused as refused:
        return ImportJob.State.REFUSED, {"file_errors": [str(refused)], "refused": True}
    resource_class = model_admin.get_import_resource_classes(request)[job.resource_index]
    resource = resource_class(**model_admin.get_import_resource_kwargs(request))
    dry_run = job.stage == ImportJob.Stage.PREVIEW

    def progress(done: int, total: int) -> None:
        cache.set(_progress_key(job.pk), done, timeout=TIME_LIMIT)

    result = resource.import_data(
        dataset,
        dry_run=dry_run,
        raise_errors=False,
        file_name=job.original_name,
        user=job.user,
        retain_instance_in_row_result=not dry_run,
        progress=progress,
    )
    report = build_report(result, resource, dataset.headers)
    if report["refused"]:
        return ImportJob.State.REFUSED, report
    if not dry_run:
        model_admin.generate_log_entries(result, request)
    return ImportJob.State.SUCCEEDED, report
