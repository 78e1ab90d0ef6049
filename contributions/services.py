"""Writes with business rules for upstream communities, repositories and pull requests.

The model ``clean()`` methods call the ``*_validate`` functions, so the admin, imports and the
API refuse the same things with the same messages. ``pull_requests_upsert`` is the bulk path
used by the GitHub importer and the API batch mode.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import reduce
from operator import or_
from typing import Any, NamedTuple

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, Subquery
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from opsite.core.recompute import ROLLUPS, request_recompute
from opsite.core.services import by_natural_key
from staff.models import StaffMember

from .models import PullRequest, Repository, UpstreamCommunity

# Matched whole (fullmatch), so a trailing newline is refused too.
# GitHub logins and organization names: letters, digits and hyphens, at most 39 characters.
GITHUB_LOGIN_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,38}")
# A pull-request author may be an app ("dependabot[bot]"); old accounts may hold "_" or ".".
AUTHOR_LOGIN_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(?:\[bot\])?")
REPOSITORY_NAME_RE = re.compile(r"[A-Za-z0-9._-]{1,100}")
BOT_SUFFIX = "[bot]"

# Rows per INSERT/UPDATE statement in the bulk paths; each backend lowers it if it must.
BATCH_SIZE = 1000
# Values per ``IN (...)`` list: SQLite refuses statements with too many parameters.
IN_CHUNK = 500


def _chunks(items: list, size: int = IN_CHUNK) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _assign(instance: Any, data: Mapping[str, Any], allowed: Iterable[str]) -> None:
    """Set ``data`` on ``instance``; an unknown field is a programming error, not bad input."""
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise TypeError(f"{type(instance).__name__} cannot be updated with {', '.join(unknown)}")
    for name, value in data.items():
        setattr(instance, name, value)


def _upstream_community_by_slug(value: UpstreamCommunity | str | None) -> UpstreamCommunity | None:
    if value is None:
        return None
    return by_natural_key(UpstreamCommunity, value, key="slug", field="upstream_community")


def _repository_by_full_name(value: Repository | str) -> Repository:
    if isinstance(value, Repository):
        return value
    found = Repository.objects.filter(full_name__iexact=str(value).strip()).first()
    if found is None:
        raise ValidationError({"repository": f"No repository named {value!r}."})
    return found


def is_bot_login(login: str) -> bool:
    """GitHub apps sign their pull requests as ``name[bot]``."""
    return login.lower().endswith(BOT_SUFFIX)


# --- upstream communities --------------------------------------------------------------------


def _org_owners(*, exclude_pk: int | None = None) -> dict[str, UpstreamCommunity]:
    """Map each lower-cased GitHub org to the upstream community that claims it (one query)."""
    owners: dict[str, UpstreamCommunity] = {}
    communities = UpstreamCommunity.objects.only("pk", "slug", "name", "github_orgs").order_by("pk")
    if exclude_pk is not None:
        communities = communities.exclude(pk=exclude_pk)
    for community in communities:
        for org in community.github_orgs or []:
            if isinstance(org, str):
                owners.setdefault(org.lower(), community)
    return owners


def upstream_community_validate(upstream_community: UpstreamCommunity) -> None:
    """``github_orgs`` is a list of GitHub logins, and an org belongs to one community at most."""
    orgs = upstream_community.github_orgs
    if orgs is None:
        orgs = upstream_community.github_orgs = []
    if not isinstance(orgs, list):
        raise ValidationError(
            {"github_orgs": f"Enter a list of GitHub organization logins, not {type(orgs).__name__}."}
        )
    errors: list[str] = []
    seen: set[str] = set()
    for org in orgs:
        if not isinstance(org, str) or not org.strip():
            errors.append(f"{org!r} is not a GitHub organization login: each entry must be non-empty text.")
        elif not GITHUB_LOGIN_RE.fullmatch(org):
            errors.append(
                f"{org!r} is not a GitHub organization login (letters, digits and hyphens, "
                "at most 39 characters)."
            )
        elif org.lower() in seen:
            errors.append(f"The GitHub organization {org!r} is listed twice.")
        else:
            seen.add(org.lower())
    if errors:
        raise ValidationError({"github_orgs": errors})
    owners = _org_owners(exclude_pk=upstream_community.pk)
    taken = [
        f"The GitHub organization {org!r} already belongs to the upstream community "
        f"{owners[org.lower()].name!r} ({owners[org.lower()].slug})."
        for org in orgs
        if org.lower() in owners
    ]
    if taken:
        raise ValidationError({"github_orgs": taken})


def repositories_attach(*, upstream_community: UpstreamCommunity) -> int:
    """Give repositories with no upstream community the one that now claims their org.

    A repository whose community was chosen by hand keeps it. Returns the number attached.
    """
    orgs = [org for org in upstream_community.github_orgs or [] if isinstance(org, str) and org]
    if not orgs:
        return 0
    of_these_orgs = reduce(or_, (Q(full_name__istartswith=f"{org}/") for org in orgs))
    attached = (
        Repository.objects.filter(upstream_community__isnull=True)
        .filter(of_these_orgs)
        .update(upstream_community=upstream_community, updated_at=timezone.now())
    )
    if attached:
        # QuerySet.update sends no signals: the contribution figures must be told.
        request_recompute(ROLLUPS)
    return attached


@transaction.atomic
def upstream_community_create(
    *, slug: str, name: str, github_orgs: list[str] | None = None, is_key: bool = True
) -> UpstreamCommunity:
    upstream_community = UpstreamCommunity(
        slug=slug, name=name, github_orgs=[] if github_orgs is None else github_orgs, is_key=is_key
    )
    upstream_community.full_clean()
    upstream_community.save()
    repositories_attach(upstream_community=upstream_community)
    return upstream_community


UPSTREAM_COMMUNITY_FIELDS = frozenset({"slug", "name", "github_orgs", "is_key"})


@transaction.atomic
def upstream_community_update(
    *, upstream_community: UpstreamCommunity, data: Mapping[str, Any]
) -> UpstreamCommunity:
    """Change the fields named in ``data``; repositories of newly listed orgs join the community."""
    _assign(upstream_community, data, UPSTREAM_COMMUNITY_FIELDS)
    upstream_community.full_clean()
    upstream_community.save()
    repositories_attach(upstream_community=upstream_community)
    return upstream_community


# --- repositories ----------------------------------------------------------------------------


def _full_name_error(full_name: str) -> str | None:
    """Why ``full_name`` is not ``org/name``, or ``None`` when it is."""
    org, slash, name = full_name.partition("/")
    if not slash or not GITHUB_LOGIN_RE.fullmatch(org) or not REPOSITORY_NAME_RE.fullmatch(name):
        return (
            f"{full_name!r} is not a GitHub repository: write it as org/name, "
            "e.g. jupyterhub/zero-to-jupyterhub-k8s."
        )
    return None


def repository_derive(repository: Repository) -> None:
    """Trim the name and, when none is set, take the upstream community from the org."""
    repository.full_name = (repository.full_name or "").strip()
    if repository.upstream_community_id is None and "/" in repository.full_name:
        repository.upstream_community = _org_owners().get(repository.org.lower())


def repository_validate(repository: Repository) -> None:
    """``full_name`` is ``org/name`` and unique whatever its case; derives the community."""
    repository_derive(repository)
    problem = _full_name_error(repository.full_name)
    if problem:
        raise ValidationError({"full_name": problem})
    existing = (
        Repository.objects.filter(full_name__iexact=repository.full_name)
        .exclude(pk=repository.pk)
        .values_list("full_name", flat=True)
        .first()
    )
    if existing is not None:
        raise ValidationError(
            {
                "full_name": f"The repository {existing!r} already exists "
                f"(repository names are case-insensitive, so {repository.full_name!r} is the same one)."
            }
        )


REPOSITORY_FIELDS = frozenset({"full_name", "upstream_community"})


@transaction.atomic
def repository_create(
    *, full_name: str, upstream_community: UpstreamCommunity | str | None = None
) -> Repository:
    """Create a repository; without an upstream community, the one claiming its org is used."""
    repository = Repository(
        full_name=full_name, upstream_community=_upstream_community_by_slug(upstream_community)
    )
    repository.full_clean()
    repository.save()
    return repository


@transaction.atomic
def repository_update(*, repository: Repository, data: Mapping[str, Any]) -> Repository:
    """Change the fields named in ``data`` (any of :data:`REPOSITORY_FIELDS`)."""
    data = dict(data)
    if "upstream_community" in data:
        data["upstream_community"] = _upstream_community_by_slug(data["upstream_community"])
    _assign(repository, data, REPOSITORY_FIELDS)
    repository.full_clean()
    repository.save()
    return repository


# --- pull requests ---------------------------------------------------------------------------


def pull_request_derive(pull_request: PullRequest) -> None:
    """Resolve ``author`` from ``StaffMember.github`` (case-insensitive) and flag bots.

    An explicit ``is_bot=True`` is kept: GitHub marks some bot accounts only by their type.
    """
    login = (pull_request.author_login or "").strip()
    pull_request.author_login = login
    pull_request.is_bot = bool(pull_request.is_bot) or is_bot_login(login)
    pull_request.author_id = (
        StaffMember.objects.filter(github__iexact=login).values_list("pk", flat=True).first()
        if login
        else None
    )


def _pull_request_problems(
    *, number: Any, author_login: Any, created_at: Any, merged_at: Any
) -> dict[str, str]:
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


def pull_request_validate(pull_request: PullRequest) -> None:
    """A number of at least 1, a GitHub login, and no merge before the pull request existed."""
    problems = _pull_request_problems(
        number=pull_request.number,
        author_login=pull_request.author_login,
        created_at=pull_request.created_at,
        merged_at=pull_request.merged_at,
    )
    if problems:
        raise ValidationError(problems)


PULL_REQUEST_FIELDS = (
    "repository",
    "number",
    "title",
    "url",
    "author_login",
    "created_at",
    "merged_at",
    "is_bot",
)
_PULL_REQUEST_FIELD_LIST = ", ".join(PULL_REQUEST_FIELDS)


@transaction.atomic
def pull_request_create(
    *,
    repository: Repository | str,
    number: int,
    author_login: str,
    created_at: datetime,
    title: str = "",
    url: str = "",
    merged_at: datetime | None = None,
    is_bot: bool = False,
) -> PullRequest:
    """Record a pull request; ``repository`` is one or its full name. ``author`` is derived."""
    pull_request = PullRequest(
        repository=_repository_by_full_name(repository),
        number=number,
        title=title,
        url=url,
        author_login=author_login,
        created_at=created_at,
        merged_at=merged_at,
        is_bot=is_bot,
    )
    pull_request_derive(pull_request)
    pull_request.full_clean()
    pull_request.save()
    return pull_request


@transaction.atomic
def pull_request_update(*, pull_request: PullRequest, data: Mapping[str, Any]) -> PullRequest:
    """Change the fields named in ``data``; ``author`` is derived from ``author_login``, never set."""
    data = dict(data)
    if "repository" in data:
        data["repository"] = _repository_by_full_name(data["repository"])
    _assign(pull_request, data, PULL_REQUEST_FIELDS)
    pull_request_derive(pull_request)
    pull_request.full_clean()
    pull_request.save()
    return pull_request


@transaction.atomic
def pull_request_authors_resolve() -> int:
    """Re-resolve every pull request's author from the staff GitHub handles.

    Run it after a handle changes. Two UPDATE statements, touching only the rows whose author is
    wrong: first unlink authors whose handle no longer matches the login, then link the unlinked
    rows whose login now matches a handle. Returns the number of rows changed.
    """
    handle = StaffMember.objects.annotate(handle=Lower("github"))
    matching_author = handle.filter(handle=Lower(OuterRef("author_login")))
    now = timezone.now()
    # The author's own handle is compared, so a login may move from one person to another.
    stale = PullRequest.objects.filter(author__isnull=False).exclude(
        Exists(matching_author.filter(pk=OuterRef("author_id")))
    )
    unlinked = stale.update(author=None, updated_at=now)
    linked = (
        PullRequest.objects.filter(author__isnull=True)
        .filter(Exists(matching_author))
        .update(author=Subquery(matching_author.values("pk")[:1]), updated_at=now)
    )
    if unlinked or linked:
        # QuerySet.update sends no signals: the contribution figures must be told.
        request_recompute(ROLLUPS)
    return unlinked + linked


# --- bulk upsert -----------------------------------------------------------------------------


@dataclass
class UpsertResult:
    """What :func:`pull_requests_upsert` did, for sync logs and API answers."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    repositories_created: int = 0
    bots: int = 0
    unknown_logins: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged


class _Row(NamedTuple):
    """One checked upsert row."""

    repository: str
    number: int
    title: str
    url: str
    author_login: str
    created_at: datetime
    merged_at: datetime | None
    is_bot: bool


UPSERT_REQUIRED = ("repository", "number", "author_login", "created_at")
# The largest value an ``integer`` column holds on PostgreSQL: the upsert skips ``full_clean()``,
# so it refuses a larger number itself rather than let the database fail (a 500).
MAX_PULL_REQUEST_NUMBER = 2**31 - 1
UPSERT_KEYS = frozenset(PULL_REQUEST_FIELDS)


def _as_datetime(value: Any, name: str, problems: dict[str, str], *, required: bool) -> datetime | None:
    if value in (None, ""):
        if required:
            problems[name] = f"{name} is required."
        return None
    if isinstance(value, str):
        parsed = parse_datetime(value.strip())
        if parsed is None:
            problems[name] = f"{value!r} is not an ISO 8601 date and time."
            return None
        value = parsed
    if not isinstance(value, datetime):
        problems[name] = f"{value!r} is not a date and time."
        return None
    if timezone.is_naive(value):
        problems[name] = f"{value.isoformat()} has no time zone; give one, e.g. 2024-03-01T12:00:00Z."
        return None
    return value


def _parse_row(row: Any) -> tuple[_Row | None, dict[str, str]]:
    """Check one upsert row without touching the database."""
    if not isinstance(row, Mapping):
        return None, {
            "rows": f"expected an object with {_PULL_REQUEST_FIELD_LIST}, not {type(row).__name__}."
        }
    problems: dict[str, str] = {}
    for name in sorted(set(row) - UPSERT_KEYS):
        problems[name] = f"unknown field {name!r}; expected {_PULL_REQUEST_FIELD_LIST}."
    for name in UPSERT_REQUIRED:
        if row.get(name) in (None, ""):
            problems[name] = f"{name} is required."
    repository = row.get("repository")
    if isinstance(repository, Repository):
        repository = repository.full_name
    if isinstance(repository, str):
        repository = repository.strip()
        if "repository" not in problems and (error := _full_name_error(repository)):
            problems["repository"] = error
    elif "repository" not in problems:
        problems["repository"] = f"{repository!r} is not a repository name."
    title, url = row.get("title") or "", row.get("url") or ""
    for name, value, limit in (("title", title, 500), ("url", url, 500)):
        if not isinstance(value, str):
            problems[name] = f"{value!r} is not text."
        elif len(value) > limit:
            problems[name] = f"at most {limit} characters, not {len(value)}."
    if isinstance(url, str) and url and not url.startswith(("https://", "http://")):
        problems["url"] = f"{url!r} is not an http(s) address."
    login = row.get("author_login")
    login = login.strip() if isinstance(login, str) else login
    if isinstance(login, str) and len(login) > 100:
        problems["author_login"] = f"at most 100 characters, not {len(login)}."
    created_at = _as_datetime(row.get("created_at"), "created_at", problems, required=True)
    merged_at = _as_datetime(row.get("merged_at"), "merged_at", problems, required=False)
    number = row.get("number")
    # isdecimal, not isdigit: "²" is a digit that int() cannot read.
    if isinstance(number, str) and number.strip().isdecimal():
        number = int(number)
    is_bot = row.get("is_bot", False)
    if not isinstance(is_bot, bool):
        problems["is_bot"] = f"{is_bot!r} is not true or false."
    for name, message in _pull_request_problems(
        number=number, author_login=login, created_at=created_at, merged_at=merged_at
    ).items():
        problems.setdefault(name, message)
    if isinstance(number, int) and not isinstance(number, bool) and number > MAX_PULL_REQUEST_NUMBER:
        problems["number"] = (
            f"{number} is larger than a pull request number can be (at most {MAX_PULL_REQUEST_NUMBER})."
        )
    # PostgreSQL refuses a NUL character in text outright (a database error, not a bad value):
    # refuse it here, whichever text field holds it, in place of any other complaint about it.
    for name, value in row.items():
        if isinstance(value, str) and "\x00" in value:
            problems[name] = f"{name} contains a NUL character (\\x00)."
    if problems:
        return None, problems
    return _Row(
        repository, number, title, url, login, created_at, merged_at, is_bot or is_bot_login(login)
    ), {}


def _repositories_for(full_names: dict[str, str]) -> tuple[dict[str, int], int]:
    """Ids of the repositories named (lower-cased name -> id), creating the missing ones."""

    def ids_of(keys: list[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        for chunk in _chunks(keys):
            named = Repository.objects.annotate(key=Lower("full_name")).filter(key__in=chunk)
            found.update(named.values_list("key", "pk"))
        return found

    ids = ids_of(list(full_names))
    missing = [key for key in full_names if key not in ids]
    if missing:
        owners = _org_owners()
        new = [
            Repository(full_name=full_names[key], upstream_community=owners.get(key.split("/", 1)[0]))
            for key in missing
        ]
        # A concurrent import may create the same repository: keep the first one.
        Repository.objects.bulk_create(new, batch_size=BATCH_SIZE, ignore_conflicts=True)
        ids.update(ids_of(missing))
    return ids, len(missing)


def _staff_by_login(logins: Iterable[str]) -> dict[str, int]:
    """Lower-cased GitHub handle -> staff id, for every staff member with a handle (one query)."""
    wanted = {login.lower() for login in logins}
    return {
        handle: pk
        for handle, pk in StaffMember.objects.filter(github__isnull=False)
        .annotate(handle=Lower("github"))
        .values_list("handle", "pk")
        if handle in wanted
    }


# The columns an upsert may change, in the order they are compared with the stored row.
_COMPARED = ("title", "url", "author_login", "author_id", "created_at", "merged_at", "is_bot")
_WRITTEN = ("title", "url", "author_login", "author", "created_at", "merged_at", "is_bot", "updated_at")


@transaction.atomic
def pull_requests_upsert(*, rows: Iterable[Mapping[str, Any]]) -> UpsertResult:
    """Create or update pull requests by (repository full name, number), all or nothing.

    Each row is a mapping with ``repository`` ("org/name"), ``number``, ``author_login``,
    ``created_at`` (aware datetime or ISO 8601 text) and optionally ``title``, ``url``,
    ``merged_at`` and ``is_bot``. Unknown repositories are created (their upstream community taken
    from the org), authors are resolved from the staff handles in one query, and unchanged rows are
    not written. Every row is checked before anything is written; bad rows raise one
    ``ValidationError`` keyed by field whose messages name the row's index in ``rows`` (0-based)
    and the reason, and nothing is written. A row repeating another's pull request is refused.

    Rows are checked here rather than with ``full_clean()`` per row: the importer sends batches
    of 100,000 rows, and per-row model validation (one query per foreign key) would dominate.
    """
    parsed: list[_Row] = []
    errors: dict[str, list[str]] = {}
    first_seen: dict[tuple[str, int], int] = {}
    for index, raw in enumerate(rows):
        row, problems = _parse_row(raw)
        if row is not None:
            key = (row.repository.lower(), row.number)
            if key in first_seen:
                problems = {
                    "rows": f"repeats row {first_seen[key]} ({row.repository}#{row.number}); "
                    "send each pull request once."
                }
            else:
                first_seen[key] = index
        for name, message in problems.items():
            errors.setdefault(name, []).append(f"row {index}: {message}")
        if not problems and row is not None:
            parsed.append(row)
    if errors:
        raise ValidationError(errors)
    result = UpsertResult()
    if not parsed:
        return result

    # The first spelling of a repository in the batch names it when it is created.
    full_names: dict[str, str] = {}
    for row in parsed:
        full_names.setdefault(row.repository.lower(), row.repository)
    repository_ids, result.repositories_created = _repositories_for(full_names)
    staff_ids = _staff_by_login(row.author_login for row in parsed)

    existing: dict[tuple[int, int], tuple] = {}
    for chunk in _chunks(sorted(set(repository_ids.values()))):
        for values in PullRequest.objects.filter(repository_id__in=chunk).values_list(
            "repository_id", "number", *_COMPARED
        ):
            existing[(values[0], values[1])] = values[2:]

    now = timezone.now()
    to_write: list[PullRequest] = []
    unknown: set[str] = set()
    for row in parsed:
        repository_id = repository_ids[row.repository.lower()]
        author_id = staff_ids.get(row.author_login.lower())
        if row.is_bot:
            result.bots += 1
        elif author_id is None:
            unknown.add(row.author_login)
        values = (row.title, row.url, row.author_login, author_id, row.created_at, row.merged_at, row.is_bot)
        before = existing.get((repository_id, row.number))
        if before == values:
            result.unchanged += 1
            continue
        if before is None:
            result.created += 1
        else:
            result.updated += 1
        to_write.append(
            PullRequest(
                repository_id=repository_id,
                number=row.number,
                author_id=author_id,
                updated_at=now,
                **{name: getattr(row, name) for name in _COMPARED if name != "author_id"},
            )
        )
    # One INSERT ... ON CONFLICT per batch creates new rows and updates changed ones, and stays
    # correct if another import inserted the same pull request since we read.
    PullRequest.objects.bulk_create(
        to_write,
        batch_size=BATCH_SIZE,
        update_conflicts=True,
        unique_fields=["repository", "number"],
        update_fields=list(_WRITTEN),
    )
    result.unknown_logins = sorted(unknown, key=str.lower)
    if to_write or result.repositories_created:
        # bulk_create sends no signals: the contribution figures must be told.
        request_recompute(ROLLUPS)
    return result
