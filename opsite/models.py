"""Abstract bases shared by every opsite model."""

from django.db import models


class TimeStampedModel(models.Model):
    """Adds ``created_at``/``updated_at`` (aware, UTC) to a model."""

    created_at = models.DateTimeField(auto_now_add=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True, editable=False)

    class Meta:
        abstract = True


class Rollup(TimeStampedModel):
    """A stored KPI figure or series (see ``opsite.rollups``), read by the API and dashboard.

    ``version`` is a content hash of the canonical JSON of ``value``: it changes exactly when the
    value changes, so it serves as the public API's ETag. ``computed_at`` is when the current
    value was computed; a recompute that finds the same value leaves the row untouched.
    """

    key = models.CharField(max_length=200, unique=True)
    value = models.JSONField()
    version = models.CharField(max_length=64)
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return f"{self.key} ({self.version[:12]})"
