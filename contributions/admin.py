"""Admin for upstream communities, repositories and pull requests.

Counts come from annotations in :mod:`contributions.selectors`, so a changelist costs the same
number of queries whatever its length. Saves and deletes go through the services of
:mod:`contributions.services` (the kernel's ``OpsiteAdmin`` finds them by model), whose messages
land on the field they name. A pull request's ``author`` is derived from its login by the
services, so it is shown, never edited.
"""

from __future__ import annotations

import re

from django import forms
from django.contrib import admin
from django.db import models
from django.db.models import F
from django.urls import reverse
from django.utils.html import format_html

from opsite.core.admin import OpsiteAdmin, in_use

# The GitHub importer's run log has its own module; importing it registers its admin.
from . import sync_admin  # noqa: F401
from .models import PullRequest, Repository, UpstreamCommunity
from .resources import PullRequestResource, RepositoryResource, UpstreamCommunityResource
from .selectors import with_repository_figures, with_upstream_community_figures

# An address typed without a scheme is meant as https, as browsers take it.
URL_FIELDS_HTTPS = {models.URLField: {"assume_scheme": "https"}}


def _changelist_link(model, text, **filters) -> str:
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    query = "&".join(f"{key}={value}" for key, value in filters.items())
    return format_html('<a href="{}?{}">{}</a>', url, query, text)


# --- upstream communities --------------------------------------------------------------------


class GitHubOrgsField(forms.CharField):
    """GitHub organization logins typed on one line, separated by commas or spaces."""

    def prepare_value(self, value):
        if isinstance(value, list | tuple):
            return ", ".join(str(org) for org in value)
        return value

    def to_python(self, value):
        text = super().to_python(value)
        return [org for org in re.split(r"[\s,]+", text) if org]


class UpstreamCommunityForm(forms.ModelForm):
    github_orgs = GitHubOrgsField(
        label="GitHub organizations",
        required=False,
        help_text="Organization logins separated by commas, e.g. jupyter, jupyterlab, jupyter-server.",
    )

    class Meta:
        model = UpstreamCommunity
        fields = ("name", "slug", "github_orgs", "is_key")


@admin.register(UpstreamCommunity)
class UpstreamCommunityAdmin(OpsiteAdmin):
    form = UpstreamCommunityForm
    list_display = ("name", "slug", "orgs", "is_key", "repositories", "merged_pull_requests")
    list_filter = ("is_key",)
    search_fields = ("name", "slug", "github_orgs")
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("created_at", "updated_at")
    resource_classes = [UpstreamCommunityResource]

    def get_queryset(self, request):
        return with_upstream_community_figures(super().get_queryset(request))

    @admin.display(description="GitHub organizations")
    def orgs(self, obj: UpstreamCommunity) -> str:
        return ", ".join(obj.github_orgs or []) or "-"

    @admin.display(description="repositories", ordering="repository_count")
    def repositories(self, obj: UpstreamCommunity) -> str:
        return _changelist_link(Repository, obj.repository_count, upstream_community__id__exact=obj.pk)

    @admin.display(description="merged pull requests", ordering="merged_pull_request_count")
    def merged_pull_requests(self, obj: UpstreamCommunity) -> str:
        return _changelist_link(
            PullRequest,
            obj.merged_pull_request_count,
            repository__upstream_community__id__exact=obj.pk,
            merged="yes",
        )


# --- repositories ----------------------------------------------------------------------------


@admin.register(Repository)
class RepositoryAdmin(OpsiteAdmin):
    list_display = (
        "full_name",
        "upstream_community",
        "pull_requests",
        "merged_pull_requests",
        "last_merged_at",
    )
    list_filter = (("upstream_community__is_key", in_use("key upstream community")), "upstream_community")
    search_fields = ("full_name", "upstream_community__name", "upstream_community__slug")
    autocomplete_fields = ("upstream_community",)
    list_select_related = ("upstream_community",)
    readonly_fields = ("created_at", "updated_at")
    resource_classes = [RepositoryResource]

    def get_queryset(self, request):
        return with_repository_figures(super().get_queryset(request))

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        if "upstream_community" in form.base_fields:
            form.base_fields[
                "upstream_community"
            ].help_text = "Leave empty to take the upstream community that lists the repository's org."
        return form

    @admin.display(description="pull requests", ordering="pull_request_count")
    def pull_requests(self, obj: Repository) -> str:
        return _changelist_link(PullRequest, obj.pull_request_count, repository__id__exact=obj.pk)

    @admin.display(description="merged", ordering="merged_pull_request_count")
    def merged_pull_requests(self, obj: Repository) -> int:
        return obj.merged_pull_request_count

    @admin.display(description="last merge", ordering="last_merged_at")
    def last_merged_at(self, obj: Repository):
        return obj.last_merged_at


# --- pull requests ---------------------------------------------------------------------------


class MergedFilter(admin.SimpleListFilter):
    title = "merged"
    parameter_name = "merged"

    def lookups(self, request, model_admin):
        return (("yes", "Merged"), ("no", "Not merged"))

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(merged_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(merged_at__isnull=True)
        return queryset


class ByStaffFilter(admin.SimpleListFilter):
    title = "author on staff"
    parameter_name = "by_staff"

    def lookups(self, request, model_admin):
        return (("yes", "By a staff member"), ("no", "By someone else"))

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(author__isnull=False)
        if self.value() == "no":
            return queryset.filter(author__isnull=True)
        return queryset


@admin.register(PullRequest)
class PullRequestAdmin(OpsiteAdmin):
    formfield_overrides = URL_FIELDS_HTTPS
    # What fits a laptop's screen beside the filters; the staff member, upstream community and
    # opening time are on the pull request's page (and the first two are filters).
    list_display = (
        "__str__",
        "title",
        "author_login",
        "merged_at",
        "is_bot",
        "on_github",
    )
    list_display_links = ("__str__",)
    list_filter = (
        MergedFilter,
        ByStaffFilter,
        "is_bot",
        ("repository__upstream_community__is_key", in_use("key upstream community")),
        "repository__upstream_community",
    )
    search_fields = (
        "repository__full_name",
        "title",
        "author_login",
        "author__name",
        "author__slug",
        "=number",
    )
    date_hierarchy = "merged_at"
    # Hundreds of repositories: picked by search, never from a full drop-down.
    autocomplete_fields = ("repository",)
    list_select_related = ("repository",)
    ordering = (F("merged_at").desc(nulls_last=True), "repository__full_name", "number")
    fields = (
        "repository",
        "number",
        "title",
        "url",
        "author_login",
        "author",
        "is_bot",
        "created_at",
        "merged_at",
        "recorded_at",
        "updated_at",
    )
    readonly_fields = ("author", "recorded_at", "updated_at")
    resource_classes = [PullRequestResource]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        if "is_bot" in form.base_fields:
            form.base_fields["is_bot"].help_text = "Set on save for logins ending in [bot]."
        return form

    @admin.display(description="GitHub")
    def on_github(self, obj: PullRequest) -> str:
        if not obj.url:
            return "-"
        return format_html('<a href="{}" rel="noopener noreferrer" target="_blank">open</a>', obj.url)
