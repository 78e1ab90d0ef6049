"""Bases for every ModelAdmin: import/export with the opsite resource rules."""

from django.contrib import admin
from import_export.admin import ImportExportModelAdmin
from import_export.formats.base_formats import CSV, JSON, XLSX
from simple_history.admin import SimpleHistoryAdmin


class OpsiteAdmin(ImportExportModelAdmin):
    """Import/export (CSV, XLSX, JSON) with a dry-run preview; permissions follow the roles."""

    formats = [CSV, XLSX, JSON]
    list_per_page = 50
    show_full_result_count = False


class OpsiteHistoryAdmin(ImportExportModelAdmin, SimpleHistoryAdmin):
    """As :class:`OpsiteAdmin`, with the audit history of every change."""

    formats = [CSV, XLSX, JSON]
    list_per_page = 50
    show_full_result_count = False


class ReadOnlyAdmin(admin.ModelAdmin):
    """Bookkeeping written by jobs: shown for the record, never typed in."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
