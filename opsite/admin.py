"""Bases for every ModelAdmin: import/export with the opsite resource rules."""

from import_export.admin import ImportExportModelAdmin
from simple_history.admin import SimpleHistoryAdmin


class OpsiteAdmin(ImportExportModelAdmin):
    """Import/export (CSV, XLSX, JSON) with a dry-run preview; permissions follow the roles."""

    list_per_page = 50
    show_full_result_count = False


class OpsiteHistoryAdmin(ImportExportModelAdmin, SimpleHistoryAdmin):
    """As :class:`OpsiteAdmin`, with the audit history of every change."""

    list_per_page = 50
    show_full_result_count = False
