"""The kernel's tables: the abstract base of every model, and the recompute scheduler's state.

They belong to the ``opsite`` app (``opsite/models.py`` gathers them for Django), which is why
their tables are named ``opsite_*``.
"""

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
