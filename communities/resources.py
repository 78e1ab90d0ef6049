"""Import/export of networks, communities, hubs and usage (CSV, XLSX, JSON), by natural key.

An exported file re-imports as an update: networks, communities and hubs are matched by
``slug``, usage samples by (hub slug, ``date``, ``period``); rows the file leaves as they were
are skipped. Relations are written as slugs; a community's networks as slugs separated by commas.

Networks, hubs and usage samples are written a batch at a time (``batch_writes``): their services
are the model's checks and a save. A community is written row by row, by the services that derive
its region and historically-marginalized flag and link its networks.
"""

from __future__ import annotations

from import_export import fields, widgets

from opsite.core.resources import (
    NaturalKeyResource,
    NaturalKeysWidget,
    NaturalKeyWidget,
    OpsiteResource,
    StrictBooleanWidget,
    StrictIntegerWidget,
)

from .models import ActiveUserCount, Community, Hub, Network


class NetworkResource(NaturalKeyResource):
    batch_writes = True
    template_example = {"slug": "example-network", "name": "Example network"}

    class Meta(OpsiteResource.Meta):
        model = Network
        fields = ("slug", "name")
        export_order = fields
        import_id_fields = ("slug",)

    def get_queryset(self):
        return Network.objects.order_by("name", "slug")


class CommunityResource(NaturalKeyResource):
    """A community per row, matched by ``slug``. ``historically_marginalized`` is exported for
    reading and not offered for import: it is derived from the country and kind (set
    ``marginalized_override`` to decide it by hand)."""

    template_example = {"slug": "example-community", "name": "Example community", "country": "KE"}

    networks = fields.Field(
        attribute="networks", column_name="networks", widget=NaturalKeysWidget(Network, field="slug")
    )
    marginalized_override = fields.Field(
        attribute="marginalized_override",
        column_name="marginalized_override",
        widget=StrictBooleanWidget(null=True),
    )
    historically_marginalized = fields.Field(
        attribute="historically_marginalized",
        column_name="historically_marginalized",
        widget=widgets.BooleanWidget(),
        readonly=True,
    )

    class Meta(OpsiteResource.Meta):
        model = Community
        fields = (
            "slug",
            "name",
            "kind",
            "country",
            "region",
            "networks",
            "joined_on",
            "left_on",
            "website",
            "marginalized_override",
            "historically_marginalized",
        )
        export_order = fields
        import_id_fields = ("slug",)

    def get_queryset(self):
        return Community.objects.prefetch_related("networks").order_by("name", "slug")


class HubResource(NaturalKeyResource):
    """A hub per row, matched by ``slug``; ``community`` is the community's slug."""

    batch_writes = True
    template_example = {
        "slug": "example-hub",
        "name": "Example hub",
        "url": "https://example-hub.example.org/",
    }

    community = fields.Field(
        attribute="community", column_name="community", widget=NaturalKeyWidget(Community, field="slug")
    )

    class Meta(OpsiteResource.Meta):
        model = Hub
        fields = (
            "slug",
            "community",
            "name",
            "url",
            "cluster",
            "provider",
            "kind",
            "launched_on",
            "retired_on",
        )
        export_order = fields
        import_id_fields = ("slug",)

    def get_queryset(self):
        return Hub.objects.select_related("community").order_by("slug")


class ActiveUserCountResource(NaturalKeyResource):
    """A usage sample per row, matched by (``hub`` slug, ``date``, ``period``)."""

    batch_writes = True
    template_example = {"period": "30d", "active_users": "120"}

    hub = fields.Field(attribute="hub", column_name="hub", widget=NaturalKeyWidget(Hub, field="slug"))
    active_users = fields.Field(
        attribute="active_users", column_name="active_users", widget=StrictIntegerWidget()
    )

    class Meta(OpsiteResource.Meta):
        model = ActiveUserCount
        fields = ("hub", "date", "period", "active_users")
        export_order = fields
        import_id_fields = ("hub", "date", "period")

    def get_queryset(self):
        return ActiveUserCount.objects.select_related("hub").order_by("hub__slug", "date", "period")
