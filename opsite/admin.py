"""Admin of the ``opsite`` app's own table: the recompute scheduler's state."""

from django.contrib import admin

from opsite.core.admin import ReadOnlyAdmin
from opsite.core.models import RecomputeState


@admin.register(RecomputeState)
class RecomputeStateAdmin(ReadOnlyAdmin):
    """Whether a recompute of the rollups or the runway is still owed (e.g. the broker was down)."""

    list_display = (
        "kind",
        "pending",
        "requested_at",
        "queued_at",
        "started_at",
        "succeeded_at",
        "failed_at",
        "last_error",
    )
