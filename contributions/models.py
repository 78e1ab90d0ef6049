"""Upstream open-source work: key communities, their repositories and merged pull requests."""

from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

from opsite.core.models import TimeStampedModel


class UpstreamCommunity(TimeStampedModel):
    """An open-source community we contribute to, as one or more GitHub organizations."""

    slug = models.SlugField(max_length=80, unique=True)
    name = models.CharField(max_length=200)
    github_orgs = models.JSONField(default=list, blank=True, help_text="GitHub organization logins.")
    is_key = models.BooleanField(default=True, help_text="Counted in the public contribution figures.")

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "upstream communities"

    def __str__(self) -> str:
        return self.name

    def clean(self):
        from .services import upstream_community_validate

        upstream_community_validate(self)


class Repository(TimeStampedModel):
    """A GitHub repository, ``org/name``, belonging to the upstream community of its org."""

    full_name = models.CharField(max_length=200, unique=True, help_text="org/name")
    upstream_community = models.ForeignKey(
        UpstreamCommunity, null=True, blank=True, on_delete=models.SET_NULL, related_name="repositories"
    )

    class Meta:
        ordering = ["full_name"]
        verbose_name_plural = "repositories"
        constraints = [
            models.UniqueConstraint(Lower("full_name"), name="contributions_repository_full_name_ci_unique"),
            models.CheckConstraint(
                condition=Q(full_name__contains="/"), name="contributions_repository_org_slash_name"
            ),
        ]

    def __str__(self) -> str:
        return self.full_name

    @property
    def org(self) -> str:
        return self.full_name.split("/", 1)[0]

    def clean(self):
        from .services import repository_validate

        repository_validate(self)


class PullRequest(TimeStampedModel):
    """A pull request on GitHub; counted upstream work when merged by staff (see DESIGN.md)."""

    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="pull_requests")
    number = models.PositiveIntegerField()
    title = models.CharField(max_length=500, blank=True)
    url = models.URLField(max_length=500, blank=True)
    author_login = models.CharField(max_length=100)
    author = models.ForeignKey(
        "staff.StaffMember", null=True, blank=True, on_delete=models.SET_NULL, related_name="pull_requests"
    )
    created_at = models.DateTimeField()
    merged_at = models.DateTimeField(null=True, blank=True)
    is_bot = models.BooleanField(default=False)
    # ``created_at`` above is GitHub's; ``recorded_at`` is when opsite first saw it.
    recorded_at = models.DateTimeField(auto_now_add=True, editable=False)

    class Meta:
        ordering = ["-merged_at", "repository__full_name", "number"]
        constraints = [
            models.UniqueConstraint(fields=["repository", "number"], name="contributions_pullrequest_unique"),
        ]
        indexes = [models.Index(fields=["merged_at"], name="contributions_pr_merged_at")]

    def __str__(self) -> str:
        return f"{self.repository.full_name}#{self.number}"

    def clean(self):
        from .services import pull_request_validate

        pull_request_validate(self)

    def save(self, *args, **kwargs):
        # The author is derived from the login on every write path (admin, import, sync).
        from .services import pull_request_derive

        pull_request_derive(self)
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], "author", "is_bot"}
        super().save(*args, **kwargs)


class SyncRun(TimeStampedModel):
    """One run of the GitHub importer: the window it asked for, what it found, how it ended.

    A run writes its pull requests and its own success in one transaction, so a run marked
    ``succeeded`` always has its rows, and the next incremental run starts from its ``until``.
    """

    class Source(models.TextChoices):
        API = "api", "GitHub API"
        FILE = "file", "Saved file"

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        RATE_LIMITED = "rate_limited", "Rate limited (rescheduled)"

    source = models.CharField(max_length=10, choices=Source.choices, default=Source.API)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    since = models.DateField(null=True, blank=True, help_text="First merge date asked for.")
    until = models.DateField(null=True, blank=True, help_text="Last merge date asked for.")
    fetched = models.PositiveIntegerField("PRs fetched", default=0)
    created = models.PositiveIntegerField("PRs created", default=0)
    updated = models.PositiveIntegerField("PRs updated", default=0)
    bots = models.PositiveIntegerField("bot PRs", default=0)
    requests = models.PositiveIntegerField("HTTP requests", default=0)
    unknown_handles = models.JSONField(
        default=list, blank=True, help_text="Staff GitHub handles that GitHub does not know."
    )
    details = models.JSONField(default=dict, blank=True, help_text="Unknown organizations, warnings.")
    error = models.TextField(blank=True)
    retry_at = models.DateTimeField(null=True, blank=True, help_text="When a rate-limited run is retried.")

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["status", "-started_at"], name="contributions_syncrun_status")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(since__isnull=True)
                | models.Q(until__isnull=True)
                | models.Q(since__lte=models.F("until")),
                name="contributions_syncrun_since_before_until",
            ),
        ]

    def __str__(self) -> str:
        window = f"{self.since or '…'} to {self.until or '…'}"
        return f"GitHub sync {self.started_at:%Y-%m-%d %H:%M} ({window}): {self.get_status_display()}"
