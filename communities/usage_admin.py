"""Admin for the usage sources (Prometheus servers) and the clusters' unique users.

The lead imports this module from ``communities/admin.py``; importing it registers the classes.
"""

from __future__ import annotations

import os

from django.contrib import admin
from django.db import models

from opsite.core.admin import OpsiteAdmin, count_column
from opsite.core.resources import OpsiteResource

from .models import ClusterUsage, PrometheusSource


class PrometheusSourceResource(OpsiteResource):
    """Sources by cluster; the secrets are not in the table, so not in the file either."""

    class Meta(OpsiteResource.Meta):
        model = PrometheusSource
        import_id_fields = ("cluster",)
        fields = ("cluster", "url", "auth", "username", "secret_env", "hub_label", "hub_mapping", "enabled")
        export_order = fields


class ClusterUsageResource(OpsiteResource):
    class Meta(OpsiteResource.Meta):
        model = ClusterUsage
        import_id_fields = ("cluster", "date")
        fields = ("cluster", "date", "unique_users")
        export_order = fields


@admin.register(PrometheusSource)
class PrometheusSourceAdmin(OpsiteAdmin):
    # A server address typed without a scheme is meant as https.
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ("cluster", "url", "auth", "secret_env", "secret_is_set", "hub_label", "enabled")
    list_filter = ("enabled", "auth")
    search_fields = ("cluster", "url")
    readonly_fields = ("created_at", "updated_at")
    resource_classes = [PrometheusSourceResource]

    @admin.display(description="secret set", boolean=True)
    def secret_is_set(self, obj: PrometheusSource) -> bool | None:
        # Whether the variable is set in this process, never its value.
        if obj.auth == PrometheusSource.Auth.NONE:
            return None
        return bool(os.environ.get(obj.secret_env))


@admin.register(ClusterUsage)
class ClusterUsageAdmin(OpsiteAdmin):
    list_display = ("cluster", "date", "unique_users_figure")
    list_filter = ("cluster",)
    search_fields = ("cluster",)
    date_hierarchy = "date"
    readonly_fields = ("created_at", "updated_at")
    resource_classes = [ClusterUsageResource]

    unique_users_figure = count_column("unique_users", description="unique users")
