"""Serializers of the contributions CRUD API: they parse and render; the services decide.

An upstream community is named by its ``slug``, a repository by its ``full_name`` (``org/name``,
any letter case), a staff author by their ``slug``. A pull request's ``author`` is derived from
its ``author_login`` and the staff GitHub logins, never written.
"""

from __future__ import annotations

from django.core.exceptions import ObjectDoesNotExist
from rest_framework import serializers

from opsite.core.api.serializers import OpsiteModelSerializer, OpsiteSerializer, StrictIntegerField

from ..models import PullRequest, Repository, SyncRun, UpstreamCommunity

TIMESTAMPS = ("created_at", "updated_at")


class RepositoryNameField(serializers.SlugRelatedField):
    """A repository by its ``full_name``, found whatever its letter case (as GitHub does)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(slug_field="full_name", **kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        try:
            return self.get_queryset().get(full_name__iexact=data.strip())
        except ObjectDoesNotExist:
            self.fail("does_not_exist", slug_name=self.slug_field, value=data)
        except (TypeError, ValueError, Repository.MultipleObjectsReturned):
            # A value no column can hold (PostgreSQL refuses NUL bytes), or, were the unique
            # index ever gone, an ambiguous name.
            self.fail("invalid")


class UpstreamCommunitySerializer(OpsiteModelSerializer):
    github_orgs = serializers.ListField(
        child=serializers.CharField(allow_blank=True, trim_whitespace=False),
        required=False,
        help_text="GitHub organization logins; their repositories belong to this community.",
    )
    repository_count = serializers.IntegerField(read_only=True)
    merged_pull_request_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = UpstreamCommunity
        fields = (
            "slug",
            "name",
            "github_orgs",
            "is_key",
            "repository_count",
            "merged_pull_request_count",
            *TIMESTAMPS,
        )
        read_only_fields = TIMESTAMPS


class RepositorySerializer(OpsiteModelSerializer):
    upstream_community = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=UpstreamCommunity.objects.all(),
        allow_null=True,
        required=False,
        help_text="The upstream community's slug; the one claiming the org when left out or null.",
    )
    org = serializers.CharField(read_only=True)
    pull_request_count = serializers.IntegerField(read_only=True)
    merged_pull_request_count = serializers.IntegerField(read_only=True)
    last_merged_at = serializers.DateTimeField(read_only=True, allow_null=True)

    class Meta:
        model = Repository
        fields = (
            "full_name",
            "org",
            "upstream_community",
            "pull_request_count",
            "merged_pull_request_count",
            "last_merged_at",
            *TIMESTAMPS,
        )
        read_only_fields = TIMESTAMPS
        # The service checks uniqueness whatever the case, with a message naming the other row.
        extra_kwargs = {"full_name": {"validators": []}}


class PullRequestSerializer(OpsiteModelSerializer):
    repository = RepositoryNameField(queryset=Repository.objects.all(), help_text="org/name")
    upstream_community = serializers.SlugRelatedField(
        source="repository.upstream_community",
        slug_field="slug",
        read_only=True,
        allow_null=True,
        help_text="The repository's upstream community.",
    )
    author = serializers.SlugRelatedField(
        slug_field="slug",
        read_only=True,
        allow_null=True,
        help_text="The staff member whose GitHub login is author_login (any case), if any.",
    )

    class Meta:
        model = PullRequest
        fields = (
            "id",
            "repository",
            "number",
            "title",
            "url",
            "author_login",
            "author",
            "upstream_community",
            "created_at",
            "merged_at",
            "is_bot",
            "recorded_at",
            "updated_at",
        )
        read_only_fields = ("recorded_at", "updated_at")
        extra_kwargs = {
            "created_at": {"help_text": "When the pull request was opened on GitHub."},
            "is_bot": {"help_text": "Opened by a bot; logins ending in [bot] are bots whatever this says."},
        }


class PullRequestBatchRowSerializer(OpsiteSerializer):
    """One row of a pull-request batch (documentation: the service checks the rows itself)."""

    repository = serializers.CharField(help_text="org/name; created when unknown.")
    number = StrictIntegerField(min_value=1, max_value=2_147_483_647)
    author_login = serializers.CharField()
    created_at = serializers.DateTimeField(help_text="ISO 8601 with a time zone.")
    title = serializers.CharField(required=False, allow_blank=True)
    url = serializers.URLField(required=False, allow_blank=True)
    merged_at = serializers.DateTimeField(required=False, allow_null=True)
    is_bot = serializers.BooleanField(required=False, default=False)


class PullRequestBatchResultSerializer(OpsiteSerializer):
    """What a batch did."""

    created = StrictIntegerField()
    updated = StrictIntegerField()
    unchanged = StrictIntegerField()
    repositories_created = StrictIntegerField()
    unknown_logins = serializers.ListField(
        child=serializers.CharField(), help_text="Authors who are neither bots nor staff."
    )


class SyncRunSerializer(OpsiteModelSerializer):
    class Meta:
        model = SyncRun
        fields = (
            "id",
            "source",
            "status",
            "started_at",
            "finished_at",
            "since",
            "until",
            "fetched",
            "created",
            "updated",
            "bots",
            "requests",
            "unknown_handles",
            "details",
            "error",
            "retry_at",
            *TIMESTAMPS,
        )
        read_only_fields = fields
