"""Bases for every ModelAdmin: import/export with the opsite resource rules."""

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
