"""Admin for networks, communities, hubs and usage: the daily tools of operations staff.

Computed columns come from annotations in :mod:`communities.selectors`, so a changelist costs the
same number of queries whatever its length. Saves and deletes, the hubs inline included, go
through :mod:`communities.services` (the kernel's admin base calls them), which set a community's
derived columns; the rules' messages land on the field they name.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db import models
from django.utils import timezone

from opsite.core.admin import OpsiteAdmin, OpsiteTabularInline, count_column
from opsite.core.cost_columns import CostColumnsMixin
from opsite.core.countries import country_codes_matching

from .models import ActiveUserCount, Community, Hub, Network
from .resources import ActiveUserCountResource, CommunityResource, HubResource, NetworkResource
from .selectors import active_user_count_list, community_list, hub_list, live_hub_q, network_list

# A website typed without a scheme is meant as https, as browsers take it.
URL_FIELDS_HTTPS = {models.URLField: {"assume_scheme": "https"}}


@admin.register(Network)
class NetworkAdmin(OpsiteAdmin):
    list_display = ("name", "slug", "community_count")
    search_fields = ("name", "slug", "communities__name", "communities__slug")
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("created_at", "updated_at")
    resource_classes = [NetworkResource]

    def get_queryset(self, request):
        return network_list()

    @admin.display(description="communities", ordering="community_count")
    def community_count(self, obj: Network) -> int:
        return obj.community_count


class HubInline(OpsiteTabularInline):
    """The hubs a community owns, edited in place; a hub's own page (its "Change" link) has the
    rest, its address and cluster, which would make the table wider than a laptop's screen."""

    model = Hub
    fields = ("slug", "name", "provider", "kind", "launched_on", "retired_on")
    formfield_overrides = URL_FIELDS_HTTPS
    extra = 0
    show_change_link = True
    ordering = ("slug",)


class CommunityAdminForm(forms.ModelForm):
    website = forms.URLField(required=False, max_length=200, assume_scheme="https")

    class Meta:
        model = Community
        fields = (
            "name",
            "slug",
            "kind",
            "website",
            "networks",
            "country",
            "region",
            "joined_on",
            "left_on",
            "marginalized_override",
        )


class LiveHubsFilter(admin.SimpleListFilter):
    title = "live hubs today"
    parameter_name = "live"

    def lookups(self, request, model_admin):
        return (("yes", "With a live hub"), ("no", "Without a live hub"))

    def queryset(self, request, queryset):
        with_live_hub = Hub.objects.filter(live_hub_q(timezone.localdate())).values("community_id")
        if self.value() == "yes":
            return queryset.filter(pk__in=with_live_hub)
        if self.value() == "no":
            return queryset.exclude(pk__in=with_live_hub)
        return queryset


@admin.register(Community)
class CommunityAdmin(CostColumnsMixin, OpsiteAdmin):
    formfield_overrides = URL_FIELDS_HTTPS
    form = CommunityAdminForm
    # What fits a laptop's screen beside the filters; the slug and the region (the country's) are
    # on the community's page, and the region is a filter.
    list_display = (
        "name",
        "kind",
        "country",
        "historically_marginalized",
        "network_names",
        "live_hubs",
        "joined_on",
        "left_on",
    )
    list_filter = (
        "kind",
        "region",
        "historically_marginalized",
        LiveHubsFilter,
        "networks",
        ("left_on", admin.EmptyFieldListFilter),
        "country",
    )
    search_fields = (
        "name",
        "slug",
        "website",
        "hubs__slug",
        "hubs__name",
        "hubs__url",
        "networks__slug",
        "networks__name",
    )
    date_hierarchy = "joined_on"
    autocomplete_fields = ("networks",)
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("historically_marginalized", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("name", "slug", "kind", "website", "networks")}),
        ("Where", {"fields": ("country", "region")}),
        ("Membership", {"fields": ("joined_on", "left_on")}),
        (
            "Historically marginalized",
            {
                "fields": ("historically_marginalized", "marginalized_override"),
                "description": (
                    "Derived on save: an educational institution that is not an R1 university, or a "
                    "community outside North America and Western Europe. The override wins when set."
                ),
            },
        ),
        ("Record", {"fields": ("created_at", "updated_at"), "classes": ("collapse",)}),
    )
    inlines = (HubInline,)
    resource_classes = [CommunityResource]
    # For Finance and Leadership: its hubs' cloud cost and its margin over the last 12 complete
    # months, in the place of the networks and the day it left (both are filters).
    cost_columns_shown = {
        "cloud_cost": ("community_cost", "cloud cost, 12 months"),
        "margin": ("community_margin", "margin, 12 months"),
    }
    cost_columns_replace = ("network_names", "left_on")

    def get_queryset(self, request):
        return self.with_costs(request, community_list(timezone.localdate()))

    def get_search_results(self, request, queryset, search_term):
        # Countries are stored as codes: a search for "Kenya" (or "KE") also finds the communities
        # in Kenya.
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        codes = country_codes_matching(search_term)
        if codes:
            results = results | queryset.filter(country__in=codes)
        return results, may_have_duplicates

    @admin.display(description="networks")
    def network_names(self, obj: Community) -> str:
        return ", ".join(sorted(n.name for n in obj.networks.all())) or "-"

    @admin.display(description="live hubs", ordering="live_hub_count")
    def live_hubs(self, obj: Community) -> str:
        return f"{obj.live_hub_count} of {obj.hub_count}"


class LiveTodayFilter(admin.SimpleListFilter):
    title = "live today"
    parameter_name = "live"

    def lookups(self, request, model_admin):
        return (("yes", "Live"), ("no", "Not live (retired or not launched)"))

    def queryset(self, request, queryset):
        live = live_hub_q(timezone.localdate())
        if self.value() == "yes":
            return queryset.filter(live)
        if self.value() == "no":
            return queryset.exclude(live)
        return queryset


@admin.register(Hub)
class HubAdmin(CostColumnsMixin, OpsiteAdmin):
    formfield_overrides = URL_FIELDS_HTTPS
    # What fits a laptop's screen beside the filters; the slug, cluster and retirement date are
    # on the hub's page ("live today" says whether it is retired).
    list_display = (
        "name",
        "community",
        "provider",
        "kind",
        "launched_on",
        "is_live",
        "latest_30d_users",
        "latest_30d_on",
    )
    list_filter = (
        LiveTodayFilter,
        "provider",
        "kind",
        ("cluster", admin.AllValuesFieldListFilter),
        "community__region",
        "community__kind",
    )
    search_fields = ("slug", "name", "url", "cluster", "community__slug", "community__name")
    date_hierarchy = "launched_on"
    autocomplete_fields = ("community",)
    list_select_related = ("community",)
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("created_at", "updated_at")
    resource_classes = [HubResource]
    # For Finance and Leadership: its cloud cost (with its share of the cluster's) over the last 12
    # complete months, in the place of the day of its latest sample (on the hub's page).
    cost_columns_shown = {"cloud_cost": ("hub_cost", "cloud cost, 12 months")}
    cost_columns_replace = ("latest_30d_on",)

    def get_queryset(self, request):
        return self.with_costs(request, hub_list(timezone.localdate()))

    @admin.display(description="live today", boolean=True)
    def is_live(self, obj: Hub) -> bool:
        today = timezone.localdate()
        return obj.launched_on <= today and (obj.retired_on is None or obj.retired_on > today)

    latest_30d_users = count_column("latest_30d_users", description="30d users (latest)")

    @admin.display(description="sampled on", ordering="latest_30d_on")
    def latest_30d_on(self, obj: Hub):
        return obj.latest_30d_on


@admin.register(ActiveUserCount)
class ActiveUserCountAdmin(OpsiteAdmin):
    list_display = ("hub", "community", "date", "period", "active_users_figure")
    list_filter = ("period", "hub__kind", "hub__provider", "hub__community__region")
    search_fields = ("hub__slug", "hub__name", "hub__community__slug", "hub__community__name")
    date_hierarchy = "date"
    autocomplete_fields = ("hub",)
    list_select_related = ("hub", "hub__community")
    readonly_fields = ("created_at", "updated_at")
    resource_classes = [ActiveUserCountResource]

    def get_queryset(self, request):
        return active_user_count_list()

    def get_readonly_fields(self, request, obj=None):
        # A sample's hub, date and period are what it is (``active_user_count_update``): record
        # a new sample and delete the wrong one.
        fields = super().get_readonly_fields(request, obj)
        return (*fields, "hub", "date", "period") if obj is not None else fields

    active_users_figure = count_column("active_users", description="active users")

    @admin.display(description="community", ordering="hub__community__name")
    def community(self, obj: ActiveUserCount) -> Community:
        return obj.hub.community


# The usage sources (Prometheus servers) and clusters' unique users, and the cloud costs and their
# sources, have their own modules; importing them registers their admin classes.
from . import cost_admin, usage_admin  # noqa: E402, F401
