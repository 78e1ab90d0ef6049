"""Admin and import/export of the cloud costs and their sources (the cost-monitoring services).

``communities/admin.py`` imports this module; importing it registers the classes. Finance keeps
both; Operations and Leadership read them (docs/roles.md), which the kernel's admin base applies.
"""

from __future__ import annotations

import os

from django.contrib import admin
from django.db import models
from django.db.models import Value
from django.db.models.functions import Coalesce
from import_export import fields

from opsite.core.admin import OpsiteAdmin, money_column
from opsite.core.import_widgets import restore_formula
from opsite.core.resources import NaturalKeyResource, NaturalKeyWidget, OpsiteResource

from .models import CloudCost, CostSource, Hub
from .selectors import cloud_cost_list


class CostSourceResource(OpsiteResource):
    """Sources by cluster; the secrets are not in the table, so not in the file either."""

    template_example = {"url": "https://cost-monitoring.example.org", "currency": "USD"}

    class Meta(OpsiteResource.Meta):
        model = CostSource
        import_id_fields = ("cluster",)
        fields = ("cluster", "url", "auth", "username", "secret_env", "hub_mapping", "currency", "enabled")
        export_order = fields


class CloudCostResource(NaturalKeyResource):
    """A cost per row, matched by (``date``, ``cluster``, ``hub`` slug, ``component``).

    ``hub`` is empty for the cluster's costs no hub owns, and an empty hub is part of the key: the
    kernel's matching reads an empty key cell as "no key" (a new row), so this resource matches
    the hub by its slug or ``""`` (:meth:`get_queryset`'s ``hub_key``) instead.
    """

    batch_writes = True
    template_example = {"cluster": "example-cluster", "amount": "12.34", "currency": "USD"}

    hub = fields.Field(attribute="hub", column_name="hub", widget=NaturalKeyWidget(Hub, field="slug"))

    class Meta(OpsiteResource.Meta):
        model = CloudCost
        fields = ("date", "cluster", "hub", "component", "amount", "currency")
        export_order = fields
        import_id_fields = ("date", "cluster", "hub", "component")

    def get_queryset(self):
        return (
            CloudCost.objects.select_related("hub")
            .annotate(hub_key=Coalesce("hub__slug", Value("")))
            .order_by("date", "cluster", "hub_key", "component")
        )

    def _import_key(self, id_fields, cells):
        position = next(i for i, f in enumerate(id_fields) if f.attribute == "hub")
        cell = cells[position]
        if isinstance(cell, str):
            cell = restore_formula(cell).strip()
        if cell not in (None, ""):
            return super()._import_key(id_fields, cells)
        others = super()._import_key(
            [f for i, f in enumerate(id_fields) if i != position],
            [c for i, c in enumerate(cells) if i != position],
        )
        return None if others is None else (*others[:position], "", *others[position:])

    def _key_lookup(self, id_field, values):
        if id_field.attribute == "hub":
            return "hub_key", sorted(values)
        return super()._key_lookup(id_field, values)


@admin.register(CostSource)
class CostSourceAdmin(OpsiteAdmin):
    # A service address typed without a scheme is meant as https.
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ("cluster", "url", "auth", "secret_env", "secret_is_set", "currency", "enabled")
    list_filter = ("enabled", "auth")
    search_fields = ("cluster", "url")
    readonly_fields = ("created_at", "updated_at")
    resource_classes = [CostSourceResource]

    @admin.display(description="secret set", boolean=True)
    def secret_is_set(self, obj: CostSource) -> bool | None:
        # Whether the variable is set in this process, never its value.
        if obj.auth == CostSource.Auth.NONE:
            return None
        return bool(os.environ.get(obj.secret_env))


@admin.register(CloudCost)
class CloudCostAdmin(OpsiteAdmin):
    list_display = ("date", "cluster", "hub", "component", "amount_figure")
    list_filter = ("component", "cluster", "currency")
    list_select_related = ("hub",)
    search_fields = ("cluster", "hub__slug", "hub__name")
    autocomplete_fields = ("hub",)
    date_hierarchy = "date"
    readonly_fields = ("created_at", "updated_at")
    resource_classes = [CloudCostResource]

    def get_queryset(self, request):
        return cloud_cost_list()

    amount_figure = money_column("amount", description="amount")
