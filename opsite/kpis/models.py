"""The rollup store: KPI figures and series computed by :mod:`opsite.kpis.rollups`."""

from django.db import models

from opsite.core.models import TimeStampedModel


class Rollup(TimeStampedModel):
    """A stored KPI figure or series (see ``opsite.kpis.rollups``), read by the API and dashboard.

    ``version`` is a content hash of the canonical JSON of ``value``: it changes exactly when the
    value changes, so it serves as the public API's ETag. ``computed_at`` is when the current
    value was computed; a recompute that finds the same value leaves the row untouched.
    """

    key = models.CharField(max_length=200, unique=True)
    value = models.JSONField()
    version = models.CharField(max_length=64)
    computed_at = models.DateTimeField()

    class Meta:
        app_label = "opsite"
        ordering = ["key"]

    def __str__(self) -> str:
        return f"{self.key} ({self.version[:12]})"
