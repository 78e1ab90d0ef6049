"""The kernel's tables: the abstract base of every model, the recompute scheduler's state, the
deletions of the incremental rollups' inputs and the admin's background imports.

They belong to the ``opsite`` app (``opsite/models.py`` gathers them for Django), which is why
their tables are named ``opsite_*``.
"""

from django.conf import settings
from django.db import models


class TimeStampedModel(models.Model):
    """Adds ``created_at``/``updated_at`` (aware, UTC) to a model."""

    created_at = models.DateTimeField(auto_now_add=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True, editable=False)

    class Meta:
        abstract = True


class RecomputeState(TimeStampedModel):
    """Whether a recompute of derived figures (the rollups, the runway) is still owed.

    Set when a change asks for a recompute, cleared by a recompute that started after that request
    and succeeded. It lives in the database, not the cache, because the cache is the same Redis as
    the broker: when one is down, so is the other, and this flag is what says so.
    """

    class Kind(models.TextChoices):
        ROLLUPS = "rollups", "Impact rollups"
        RUNWAY = "runway", "Runway"

    kind = models.CharField(max_length=20, unique=True, choices=Kind.choices)
    pending = models.BooleanField(default=False)
    requested_at = models.DateTimeField(null=True, blank=True)
    succeeded_at = models.DateTimeField(null=True, blank=True)
    # Set when a recompute is published, cleared when it starts: while set (and recent), another
    # request publishes nothing, since the queued recompute will read its change.
    queued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        app_label = "opsite"
        ordering = ["kind"]

    def __str__(self) -> str:
        return f"{self.kind}: {'pending' if self.pending else 'up to date'}"


class InputDeletion(models.Model):
    """When a row of an input of the incremental rollups was last deleted, by model.

    The rollups keep figures between runs and read again only what was written since their last
    run, by an indexed ``updated_at``: a deleted row leaves no such trace, and counting the table
    to find one would read all of it on every run. Each deletion stamps its model's row here
    instead (``opsite.core.deletions``), in the deleting transaction, so a rolled-back deletion
    leaves no stamp.
    """

    label = models.CharField(max_length=100, unique=True, help_text="The model, as app_label.ModelName.")
    deleted_at = models.DateTimeField()

    class Meta:
        app_label = "opsite"
        ordering = ["label"]

    def __str__(self) -> str:
        return f"{self.label}: a row deleted at {self.deleted_at:%Y-%m-%d %H:%M:%S}"


class ImportJob(TimeStampedModel):
    """An admin import too big to run while the browser waits: run by a Celery task.

    A job is first a preview (a dry run: what would be written, and every refused row), then, once
    its user confirms it, the import itself. The uploaded file waits in the default storage between
    the two and is deleted when the job ends, or when an unconfirmed preview expires
    (``opsite.core.import_jobs``). Only its user, and superusers, may see a job.
    """

    class Stage(models.TextChoices):
        PREVIEW = "preview", "Preview"
        IMPORT = "import", "Import"

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        REFUSED = "refused", "Refused (rows to fix)"
        FAILED = "failed", "Failed"
        EXPIRED = "expired", "Expired"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="import_jobs")
    model_label = models.CharField(max_length=100, help_text="The model imported, as app_label.ModelName.")
    resource_index = models.PositiveSmallIntegerField(default=0)
    format_index = models.PositiveSmallIntegerField(default=0)
    original_name = models.CharField(max_length=255, blank=True)
    # The file in the default storage; blank once it is deleted.
    file_name = models.CharField(max_length=255, blank=True)
    stage = models.CharField(max_length=10, choices=Stage.choices, default=Stage.PREVIEW)
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    total_rows = models.PositiveIntegerField(default=0)
    # What the last stage found: counts by kind of row, the rows shown, the problems (JSON, built by
    # opsite.core.import_report).
    report = models.JSONField(default=dict, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        app_label = "opsite"
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["state", "created_at"], name="opsite_importjob_state")]

    def __str__(self) -> str:
        return f"{self.model_label} {self.stage} #{self.pk}: {self.state}"

    @property
    def finished(self) -> bool:
        return self.state not in (self.State.QUEUED, self.State.RUNNING)
