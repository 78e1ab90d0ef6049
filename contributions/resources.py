"""Import/export of upstream communities, repositories and pull requests, by natural key.

An exported file re-imports as an update: upstream communities are matched by ``slug``,
repositories by ``full_name`` (whatever its case), pull requests by (repository, ``number``).
Relations are written as natural keys; an upstream community's GitHub organizations as one cell
separated by commas; instants in ISO 8601, UTC.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.encoding import force_str
from import_export import fields, widgets

from opsite.resources import OpsiteResource

from .models import PullRequest, Repository, UpstreamCommunity
from .selectors import pull_request_list
from .services import repositories_attach


class NaturalKeyWidget(widgets.ForeignKeyWidget):
    """A relation written as its natural key; an unknown key is a field error naming the value.

    ``case_insensitive`` matches the key whatever its case (repository names are).
    """

    def __init__(self, model, field: str, *, case_insensitive: bool = False, **kwargs):
        super().__init__(model, field=field, **kwargs)
        self.case_insensitive = case_insensitive

    def clean(self, value, row=None, **kwargs):
        key = force_str(value).strip() if value is not None else ""
        if not key:
            return None
        lookup = f"{self.field}__iexact" if self.case_insensitive else self.field
        try:
            return self.get_queryset(value, row, **kwargs).get(**{lookup: key})
        except self.model.DoesNotExist:
            raise ValueError(f"no {self.model._meta.verbose_name} with {self.field} {key!r}.") from None


class CommaListWidget(widgets.Widget):
    """A list of short texts in one cell, separated by commas (a JSON list is read too)."""

    def clean(self, value, row=None, **kwargs):
        if value is None:
            return []
        if isinstance(value, list):
            return [force_str(item).strip() for item in value if force_str(item).strip()]
        return [item.strip() for item in force_str(value).split(",") if item.strip()]

    def render(self, value, obj=None, **kwargs):
        return ", ".join(force_str(item) for item in value or [])


class StrictBooleanWidget(widgets.BooleanWidget):
    """Yes/no that refuses what it does not understand, instead of reading it as "no"."""

    TRUE_TEXT = frozenset({"1", "true", "yes", "y"})
    FALSE_TEXT = frozenset({"0", "false", "no", "n"})

    def clean(self, value, row=None, **kwargs):
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        text = force_str(value if value is not None else "").strip().lower()
        if text in self.TRUE_TEXT:
            return True
        if text in self.FALSE_TEXT or text == "":
            return False
        raise ValueError(f"{value!r} is not yes or no; use 1 or 0.")


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


class _NaturalKeyResource(OpsiteResource):
    """A row whose natural key names an unknown relation is a new row, so the bad value is
    reported as a field error of that row (by ``import_instance``), not as a crash."""

    def get_instance(self, instance_loader, row):
        try:
            return super().get_instance(instance_loader, row)
        except ValueError:
            return None


class UpstreamCommunityResource(_NaturalKeyResource):
    """An upstream community per row, matched by ``slug``."""

    github_orgs = fields.Field(attribute="github_orgs", column_name="github_orgs", widget=CommaListWidget())
    is_key = fields.Field(attribute="is_key", column_name="is_key", widget=StrictBooleanWidget())

    class Meta(OpsiteResource.Meta):
        model = UpstreamCommunity
        fields = ("slug", "name", "github_orgs", "is_key")
        export_order = fields
        import_id_fields = ("slug",)

    def get_queryset(self):
        return UpstreamCommunity.objects.order_by("name", "slug")

    def after_save_instance(self, instance, row, **kwargs):
        # As in the admin: repositories of a newly listed org that had no community join it.
        repositories_attach(upstream_community=instance)


class RepositoryResource(_NaturalKeyResource):
    """A repository per row, matched by ``full_name`` whatever its case."""

    upstream_community = fields.Field(
        attribute="upstream_community",
        column_name="upstream_community",
        widget=NaturalKeyWidget(UpstreamCommunity, "slug"),
    )

    class Meta(OpsiteResource.Meta):
        model = Repository
        fields = ("full_name", "upstream_community")
        export_order = fields
        import_id_fields = ("full_name",)

    def get_queryset(self):
        return Repository.objects.select_related("upstream_community").order_by("full_name", "pk")

    def get_instance(self, instance_loader, row):
        name = force_str(row.get("full_name") or "").strip()
        return Repository.objects.filter(full_name__iexact=name).first() if name else None


class PullRequestResource(_NaturalKeyResource):
    """A pull request per row, matched by (``repository`` full name, ``number``).

    ``author`` (the staff member's slug) is exported for reading and ignored on import: it is
    derived from ``author_login``.
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
    is_bot = fields.Field(attribute="is_bot", column_name="is_bot", widget=StrictBooleanWidget())

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

    def get_queryset(self):
        return pull_request_list()
