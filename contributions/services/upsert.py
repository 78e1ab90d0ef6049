"""The bulk path: many pull requests at once, all or nothing (the batch endpoint, the importer).

``pull_requests_upsert`` checks every row before writing anything, then writes with a fixed
number of statements whatever the batch's size: the repositories it names (created when unknown,
with the upstream community of their org), the authors (one query on the roster for the whole
batch) and one ``INSERT ... ON CONFLICT`` per :data:`BATCH_SIZE` rows.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from opsite.core.dates import implausible_message, is_plausible
from opsite.core.parsing import shown
from opsite.core.recompute import ROLLUPS, request_recompute

from ..models import PullRequest, Repository, full_name_problem, pull_request_problems
from ._base import BATCH_SIZE, chunks, is_bot_login
from .authors import staff_by_login
from .pull_requests import PULL_REQUEST_FIELDS
from .upstream import org_owners

_PULL_REQUEST_FIELD_LIST = ", ".join(PULL_REQUEST_FIELDS)


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
    """An aware instant within the plausible dates, or None with the reason in ``problems``.

    The upsert skips ``full_clean()``, so it applies the field's ``PlausibleDateValidator``
    itself, to the instant as given and in UTC, before converting anything: 9999-12-31T23:59:59
    at -14:00 overflows when the database adapter converts it to UTC (a 500), and a year-1 merge
    would send the rollups walking month by month from year 1.
    """
    if value in (None, ""):
        if required:
            problems[name] = f"{name} is required."
        return None
    if isinstance(value, str):
        try:
            # ASCII only: the parser's ``\d`` also matches "٢٠٢٤", which int() reads as 2024.
            parsed = parse_datetime(value.strip()) if value.isascii() else None
        except ValueError:  # the right shape, not a real instant: 2024-02-30T00:00:00Z
            parsed = None
        if parsed is None:
            problems[name] = f"{shown(value)} is not an ISO 8601 date and time."
            return None
        value = parsed
    if not isinstance(value, datetime):
        problems[name] = f"{shown(value)} is not a date and time."
        return None
    if timezone.is_naive(value):
        problems[name] = f"{value.isoformat()} has no time zone; give one, e.g. 2024-03-01T12:00:00Z."
        return None
    try:
        in_utc = value.astimezone(UTC)
    except OverflowError:
        in_utc = None
    if in_utc is None or not (is_plausible(value) and is_plausible(in_utc)):
        problems[name] = implausible_message(value)
        return None
    return value


# A pull request number as text: ASCII digits only, ten at most (the column's limit has ten).
_NUMBER_TEXT = re.compile(r"[0-9]{1,10}")


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
        if "repository" not in problems and (error := full_name_problem(repository)):
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
    # ASCII digits only: "٣" is a decimal digit to ``int()``, "1.9" is not pull request 1, and a
    # long run of digits is refused before any conversion (opsite.core.parsing does the same).
    if isinstance(number, str):
        if _NUMBER_TEXT.fullmatch(number.strip()):
            number = int(number.strip())
        elif "number" not in problems:
            problems["number"] = (
                f"The pull request number must be a whole number of at least 1, not {shown(number)}."
            )
            number = None
    is_bot = row.get("is_bot", False)
    if not isinstance(is_bot, bool):
        problems["is_bot"] = f"{is_bot!r} is not true or false."
    for name, message in pull_request_problems(
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
        for chunk in chunks(keys):
            named = Repository.objects.annotate(key=Lower("full_name")).filter(key__in=chunk)
            found.update(named.values_list("key", "pk"))
        return found

    ids = ids_of(list(full_names))
    missing = [key for key in full_names if key not in ids]
    if missing:
        owners = org_owners()
        new = [
            Repository(full_name=full_names[key], upstream_community=owners.get(key.split("/", 1)[0]))
            for key in missing
        ]
        # A concurrent import may create the same repository: keep the first one.
        Repository.objects.bulk_create(new, batch_size=BATCH_SIZE, ignore_conflicts=True)
        ids.update(ids_of(missing))
    return ids, len(missing)


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
    staff = staff_by_login(row.author_login for row in parsed)
    staff_ids = {login: member.pk for login, member in staff.items()}

    existing: dict[tuple[int, int], tuple] = {}
    for chunk in chunks(sorted(set(repository_ids.values()))):
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
