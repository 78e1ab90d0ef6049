"""Import/export of upstream communities, repositories and pull requests, by natural key.

An exported file re-imports as an update: upstream communities are matched by ``slug``,
repositories by ``full_name`` (whatever its case), pull requests by (repository, ``number``).
Relations are written as natural keys; an upstream community's GitHub organizations as one cell
separated by commas; instants in ISO 8601, UTC.

Rows are saved through the services (the kernel's ``OpsiteResource``), inside the import's one
transaction: the same rules, derived fields and side effects as the admin and the API.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.encoding import force_str
from import_export import fields, widgets

from opsite.core.resources import (
    CommaListWidget,
    NaturalKeyResource,
    NaturalKeyWidget,
    OpsiteResource,
    StrictBooleanWidget,
)

from .models import PullRequest, Repository, UpstreamCommunity
from .selectors import pull_request_list
from .services import authors_of_batch


class UtcDateTimeWidget(widgets.DateTimeWidget):
    """An instant as ISO 8601 in UTC (``2024-03-01T09:00:00Z``), as GitHub writes them.

    Written as text in every format, so a spreadsheet cannot drop the time zone; read from
    ISO 8601 with any offset, or from a spreadsheet date (taken as UTC).
    """

    def clean(self, value, row=None, **kwargs):
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if isinstance(value, dt.datetime):
            parsed = value
        else:
            parsed = parse_datetime(force_str(value).strip())
            if parsed is None:
                raise ValueError(f"{value!r} is not a date and time; write it as 2024-03-01T09:00:00Z.")
        if timezone.is_naive(parsed):
            parsed = parsed.replace(tzinfo=dt.UTC)
        return parsed

    def render(self, value, obj=None, **kwargs):
        if not isinstance(value, dt.datetime):
            return ""
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


class UpstreamCommunityResource(NaturalKeyResource):
    """An upstream community per row, matched by ``slug``."""

    github_orgs = fields.Field(attribute="github_orgs", column_name="github_orgs", widget=CommaListWidget())
    is_key = fields.Field(attribute="is_key", column_name="is_key", widget=StrictBooleanWidget(null=False))

    class Meta(OpsiteResource.Meta):
        model = UpstreamCommunity
        fields = ("slug", "name", "github_orgs", "is_key")
        export_order = fields
        import_id_fields = ("slug",)

    def get_queryset(self):
        return UpstreamCommunity.objects.order_by("name", "slug")


class RepositoryResource(NaturalKeyResource):
    """A repository per row, matched by ``full_name`` whatever its case."""

    upstream_community = fields.Field(
        attribute="upstream_community",
        column_name="upstream_community",
        widget=NaturalKeyWidget(UpstreamCommunity, "slug"),
    )

    # Matched whatever the case, so two spellings in one file are one repository.
    case_insensitive_ids = ("full_name",)
    template_example = {"full_name": "example-org/example-repository"}

    class Meta(OpsiteResource.Meta):
        model = Repository
        fields = ("full_name", "upstream_community")
        export_order = fields
        import_id_fields = ("full_name",)

    def get_queryset(self):
        return Repository.objects.select_related("upstream_community").order_by("full_name", "pk")


class PullRequestResource(NaturalKeyResource):
    """A pull request per row, matched by (``repository`` full name, ``number``).

    ``author`` (the staff member's slug) is exported for reading and ignored on import: the
    services derive it from ``author_login``, from one query on the roster for the whole file.
    """

    repository = fields.Field(
        attribute="repository",
        column_name="repository",
        widget=NaturalKeyWidget(Repository, "full_name", case_insensitive=True),
    )
    author = fields.Field(
        attribute="author__slug", column_name="author", widget=widgets.CharWidget(), readonly=True
    )
    created_at = fields.Field(attribute="created_at", column_name="created_at", widget=UtcDateTimeWidget())
    merged_at = fields.Field(attribute="merged_at", column_name="merged_at", widget=UtcDateTimeWidget())
    is_bot = fields.Field(attribute="is_bot", column_name="is_bot", widget=StrictBooleanWidget(null=False))

    class Meta(OpsiteResource.Meta):
        model = PullRequest
        fields = (
            "repository",
            "number",
            "title",
            "url",
            "author_login",
            "author",
            "created_at",
            "merged_at",
            "is_bot",
        )
        export_order = fields
        import_id_fields = ("repository", "number")
        # The services check each row (fields, rules, uniqueness) before saving it, and their
        # errors are reported on the row as these would be; checking the row here as well would
        # validate its stored ``author`` against the roster, one query per row.
        clean_model_instances = False

    def get_queryset(self):
        return pull_request_list()

    def import_data(self, dataset, *args, **kwargs):
        logins = dataset["author_login"] if "author_login" in (dataset.headers or ()) else []
        with authors_of_batch(force_str(login) for login in logins if login is not None):
            return super().import_data(dataset, *args, **kwargs)
