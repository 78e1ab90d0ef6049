"""Upstream open-source work: key communities, their repositories and merged pull requests.

Each model's ``clean()`` holds the checks that read only the row's own fields (the shapes of
GitHub names, a merge after the creation); the rules that read other rows, and the derived fields,
are the services' (docs/architecture.md "One write path").
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

from opsite.core.dates import PlausibleDateValidator
from opsite.core.models import TimeStampedModel

# Matched whole (fullmatch), so a trailing newline is refused too.
# GitHub logins and organization names: letters, digits and hyphens, at most 39 characters.
GITHUB_LOGIN_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,38}")
# A pull-request author may be an app ("dependabot[bot]"); old accounts may hold "_" or ".".
AUTHOR_LOGIN_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(?:\[bot\])?")
REPOSITORY_NAME_RE = re.compile(r"[A-Za-z0-9._-]{1,100}")


def github_orgs_problems(orgs: Any) -> list[str]:
    """Why ``orgs`` is not a list of distinct GitHub organization logins (empty when it is)."""
    if not isinstance(orgs, list):
        return [f"Enter a list of GitHub organization logins, not {type(orgs).__name__}."]
    problems: list[str] = []
    seen: set[str] = set()
    for org in orgs:
        if not isinstance(org, str) or not org.strip():
            problems.append(f"{org!r} is not a GitHub organization login: each entry must be non-empty text.")
        elif not GITHUB_LOGIN_RE.fullmatch(org):
            problems.append(
                f"{org!r} is not a GitHub organization login (letters, digits and hyphens, "
                "at most 39 characters)."
            )
        elif org.lower() in seen:
            problems.append(f"The GitHub organization {org!r} is listed twice.")
        else:
            seen.add(org.lower())
    return problems


def full_name_problem(full_name: str) -> str | None:
    """Why ``full_name`` is not ``org/name``, or ``None`` when it is."""
    org, slash, name = full_name.partition("/")
    if not slash or not GITHUB_LOGIN_RE.fullmatch(org) or not REPOSITORY_NAME_RE.fullmatch(name):
        return (
            f"{full_name!r} is not a GitHub repository: write it as org/name, "
            "e.g. jupyterhub/zero-to-jupyterhub-k8s."
        )
    return None


def pull_request_problems(
    *, number: Any, author_login: Any, created_at: Any, merged_at: Any
) -> dict[str, str]:
    """Why these values cannot be a pull request, by field: shared by ``PullRequest.clean()`` and
    the bulk upsert, which checks its rows without building model instances."""
    problems: dict[str, str] = {}
    # Missing values are left to the field checks, which say "required" once.
    if number is not None and (isinstance(number, bool) or not isinstance(number, int) or number < 1):
        problems["number"] = f"The pull request number must be a whole number of at least 1, not {number!r}."
    if author_login not in (None, "") and (
        not isinstance(author_login, str) or not AUTHOR_LOGIN_RE.fullmatch(author_login)
    ):
        problems["author_login"] = f"{author_login!r} is not a GitHub login."
    if isinstance(created_at, datetime) and isinstance(merged_at, datetime) and merged_at < created_at:
        problems["merged_at"] = (
            f"The pull request was merged at {merged_at.isoformat()}, "
            f"before it was created at {created_at.isoformat()}."
        )
    return problems


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
        # An org claimed by another community is a rule across rows: upstream_community_validate.
        if self.github_orgs is None:
            self.github_orgs = []
        problems = github_orgs_problems(self.github_orgs)
        if problems:
            raise ValidationError({"github_orgs": problems})


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
        # The same name in another letter case is a rule across rows: repository_validate.
        self.full_name = (self.full_name or "").strip()
        # A missing name is left to the field checks, which say "required" once.
        problem = full_name_problem(self.full_name) if self.full_name else None
        if problem:
            raise ValidationError({"full_name": problem})


class PullRequest(TimeStampedModel):
    """A pull request on GitHub; counted upstream work when merged by staff.

    See docs/definitions.md "Counted upstream contribution". ``author`` is derived from
    ``author_login`` by the services, never written by hand.
    """

    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="pull_requests")
    number = models.PositiveIntegerField()
    title = models.CharField(max_length=500, blank=True)
    url = models.URLField(max_length=500, blank=True)
    author_login = models.CharField(max_length=100)
    author = models.ForeignKey(
        "staff.StaffMember", null=True, blank=True, on_delete=models.SET_NULL, related_name="pull_requests"
    )
    # GitHub's instants (an importer writes them), unlike the auto ``created_at`` of the other
    # models: checked against the plausible range like every business date.
    created_at = models.DateTimeField(validators=[PlausibleDateValidator()])
    merged_at = models.DateTimeField(null=True, blank=True, validators=[PlausibleDateValidator()])
    is_bot = models.BooleanField(default=False)
    # ``created_at`` above is GitHub's; ``recorded_at`` is when opsite first saw it.
    recorded_at = models.DateTimeField(auto_now_add=True, editable=False)

    class Meta:
        ordering = ["-merged_at", "repository__full_name", "number"]
        constraints = [
            models.UniqueConstraint(fields=["repository", "number"], name="contributions_pullrequest_unique"),
        ]
        indexes = [
            models.Index(fields=["merged_at"], name="contributions_pr_merged_at"),
            # The incremental rollups find the pull requests written since their last run.
            models.Index(fields=["updated_at"], name="contributions_pr_updated_at"),
        ]

    def __str__(self) -> str:
        return f"{self.repository.full_name}#{self.number}"

    def clean(self):
        problems = pull_request_problems(
            number=self.number,
            author_login=self.author_login,
            created_at=self.created_at,
            merged_at=self.merged_at,
        )
        if problems:
            raise ValidationError(problems)


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
    since = models.DateField(
        null=True, blank=True, help_text="First merge date asked for.", validators=[PlausibleDateValidator()]
    )
    until = models.DateField(
        null=True, blank=True, help_text="Last merge date asked for.", validators=[PlausibleDateValidator()]
    )
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
