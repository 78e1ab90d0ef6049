"""Admin for the GitHub sync runs: a read-only log, newest first.

The lead imports this module from ``contributions/admin.py``; importing it registers the class.
"""

from __future__ import annotations

from django.contrib import admin

from opsite.core.admin import OpsiteAdmin, count_column
from opsite.core.resources import OpsiteResource

from .models import SyncRun


class SyncRunResource(OpsiteResource):
    """Export only: runs are written by the importer, never by hand."""

    class Meta(OpsiteResource.Meta):
        model = SyncRun
        fields = (
            "id",
            "source",
            "status",
            "started_at",
            "finished_at",
            "since",
            "until",
            "fetched",
            "created",
            "updated",
            "bots",
            "requests",
            "unknown_handles",
            "error",
            "retry_at",
        )
        export_order = fields


@admin.register(SyncRun)
class SyncRunAdmin(OpsiteAdmin):
    list_display = (
        "started_at",
        "source",
        "status",
        "since",
        "until",
        "fetched_figure",
        "created_figure",
        "updated_figure",
        "bots_figure",
        "unknown_handle_list",
    )
    list_filter = ("status", "source")
    date_hierarchy = "started_at"
    resource_classes = [SyncRunResource]
    fields = (
        ("source", "status"),
        ("started_at", "finished_at"),
        ("since", "until"),
        ("fetched", "created", "updated", "bots", "requests"),
        "unknown_handles",
        "details",
        "error",
        "retry_at",
    )
    readonly_fields = (
        "source",
        "status",
        "started_at",
        "finished_at",
        "since",
        "until",
        "fetched",
        "created",
        "updated",
        "bots",
        "requests",
        "unknown_handles",
        "details",
        "error",
        "retry_at",
    )

    fetched_figure = count_column("fetched")
    created_figure = count_column("created")
    updated_figure = count_column("updated")
    bots_figure = count_column("bots")

    @admin.display(description="unknown handles")
    def unknown_handle_list(self, obj: SyncRun) -> str:
        return ", ".join(obj.unknown_handles or []) or "-"

    # A log: what happened is not edited, only read.
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_import_permission(self, request) -> bool:
        return False
