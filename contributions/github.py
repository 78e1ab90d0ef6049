"""Merged pull requests of the roster, pulled from GitHub's REST search API.

:func:`pull_requests_sync` is the importer behind ``manage.py sync_github`` and the daily task
``contributions.tasks.sync_github``. It searches
``is:pr is:merged author:<login> org:<org> merged:<from>..<to>`` for every staff handle and every
organization of a key upstream community, then writes everything it found in one transaction
together with the :class:`~contributions.models.SyncRun` that records it: a run either lands whole
or not at all.

GitHub is a shared, rate-limited service, so the client is deliberately polite: requests are
serial, a rate-limit answer is waited out (up to a bound) through an injectable ``sleep``, a
longer wait stops the run so it can be rescheduled, and only 502/503/504 are retried, a bounded
number of times with backoff.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from opsite.core.dates import check_plausible, implausible_message, is_plausible
from opsite.core.parsing import shown
from opsite.core.recompute import ROLLUPS, request_recompute
from opsite.core.resources import ImportFailed

from .models import SyncRun, UpstreamCommunity

logger = logging.getLogger(__name__)

DEFAULT_API_URL = "https://api.github.com"
# GitHub's search answers at most 1,000 results per query, whatever total_count says.
SEARCH_CAP = 1000
PER_PAGE = 100
RETRY_STATUSES = frozenset({502, 503, 504})
# GitHub's guidance when a rate-limit answer carries no reset time: wait at least a minute.
DEFAULT_RATE_LIMIT_WAIT = 60


class GitHubError(Exception):
    """GitHub did not answer, or answered something the importer cannot use."""


class MalformedResponse(GitHubError):
    """An answer (or saved file) that is not the JSON GitHub documents."""


class RateLimited(GitHubError):
    """GitHub asked us to wait longer than this run may; the run stops and is rescheduled."""

    def __init__(self, wait_seconds: int):
        self.wait_seconds = wait_seconds
        super().__init__(
            f"GitHub's rate limit asks for a {wait_seconds} s wait, longer than a run may wait; "
            "the sync is rescheduled."
        )


class SearchRefused(GitHubError):
    """422 on a search: GitHub cannot search a listed user or organization."""


def github_token() -> str:
    """The API token, from the setting or the ``GITHUB_TOKEN`` environment variable."""
    return getattr(settings, "GITHUB_TOKEN", None) or os.environ.get("GITHUB_TOKEN", "")


def _setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


class GitHubClient:
    """A small, polite client for the two endpoints the importer needs.

    ``sleep`` and ``clock`` are injectable so tests can check the waits without waiting.
    ``max_wait`` bounds one rate-limit wait and ``wait_budget`` all of them in one run: beyond
    either, :class:`RateLimited` is raised instead of sleeping.
    """

    def __init__(
        self,
        *,
        base_url: str | None = None,
        token: str | None = None,
        session: requests.Session | None = None,
        timeout: tuple[int, int] = (5, 30),
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        max_wait: int | None = None,
        wait_budget: int | None = None,
        max_retries: int = 3,
        backoff: int = 2,
    ):
        self.base_url = (base_url or _setting("OPSITE_GITHUB_API_URL", DEFAULT_API_URL)).rstrip("/")
        self.session = session or requests.Session()
        self.session.headers.update(
            {
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
                "User-Agent": "opsite-contributions-sync",
            }
        )
        token = github_token() if token is None else token
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"
        self.timeout = timeout
        self.sleep = sleep
        self.clock = clock
        self.max_wait = max_wait if max_wait is not None else _setting("OPSITE_GITHUB_MAX_WAIT_SECONDS", 120)
        self.wait_budget = (
            wait_budget if wait_budget is not None else _setting("OPSITE_GITHUB_WAIT_BUDGET_SECONDS", 1200)
        )
        self.max_retries = max_retries
        self.backoff = backoff
        self.requests_made = 0
        self.waited = 0
        self.warnings: list[str] = []
        # Set when a successful answer says the quota is spent: the next request waits first.
        self._resume_at: float | None = None

    def __repr__(self) -> str:  # never the token
        return f"<GitHubClient {self.base_url}>"

    # --- HTTP -----------------------------------------------------------------------------

    def _wait(self, seconds: int) -> None:
        if seconds > self.max_wait or self.waited + seconds > self.wait_budget:
            raise RateLimited(seconds)
        logger.info("GitHub rate limit: waiting %s s", seconds)
        self.sleep(seconds)
        self.waited += seconds

    def _rate_limit_wait(self, response: requests.Response) -> int | None:
        """Seconds GitHub asks us to wait, or None when the answer is not a rate limit."""
        if response.status_code not in (403, 429):
            return None
        headers = response.headers
        retry_after = headers.get("retry-after", "").strip()
        if retry_after.isdigit():
            return max(1, int(retry_after))
        reset = headers.get("x-ratelimit-reset", "").strip()
        if headers.get("x-ratelimit-remaining") == "0" and reset.isdigit():
            return max(1, math.ceil(int(reset) - self.clock()))
        if response.status_code == 429 or "rate limit" in _message(response).lower():
            return DEFAULT_RATE_LIMIT_WAIT
        return None  # a plain 403: a permission problem, reported as an error

    def _get(self, url: str, params: dict[str, Any] | None, *, what: str) -> requests.Response:
        retries = 0
        while True:
            if self._resume_at is not None:
                pause = math.ceil(self._resume_at - self.clock())
                self._resume_at = None
                if pause > 0:
                    self._wait(pause)
            try:
                response = self.session.get(url, params=params, timeout=self.timeout)
            except (requests.ConnectionError, requests.Timeout) as exc:
                self.requests_made += 1
                if retries >= self.max_retries:
                    raise GitHubError(f"GitHub did not answer {what}: {exc.__class__.__name__}.") from None
                self.sleep(self.backoff * 2**retries)
                retries += 1
                continue
            self.requests_made += 1
            if response.status_code in RETRY_STATUSES:
                if retries >= self.max_retries:
                    raise GitHubError(
                        f"GitHub answered {response.status_code} to {what} {retries + 1} times; giving up."
                    )
                self.sleep(self.backoff * 2**retries)
                retries += 1
                continue
            wait = self._rate_limit_wait(response)
            if wait is not None:
                self._wait(wait)
                continue
            reset = response.headers.get("x-ratelimit-reset", "")
            if response.headers.get("x-ratelimit-remaining") == "0" and reset.isdigit():
                self._resume_at = int(reset)
            return response

    def _get_json(
        self, url: str, params: dict[str, Any] | None, *, what: str
    ) -> tuple[Any, requests.Response]:
        response = self._get(url, params, what=what)
        if response.status_code == 422:
            raise SearchRefused(f"GitHub refused {what}: {_message(response)}")
        if not response.ok:
            raise GitHubError(
                f"GitHub answered {response.status_code} {response.reason} to {what}: {_message(response)}"
            )
        return parse_json(response.text, what=f"GitHub's answer to {what}"), response

    # --- endpoints ------------------------------------------------------------------------

    def user_exists(self, login: str) -> bool:
        """Whether GitHub knows ``login`` (``GET /users/<login>``)."""
        what = f"the user {login}"
        response = self._get(f"{self.base_url}/users/{login}", None, what=what)
        if response.status_code == 404:
            return False
        if not response.ok:
            raise GitHubError(f"GitHub answered {response.status_code} to {what}: {_message(response)}")
        return True

    def search_merged(self, *, login: str, org: str, since: date, until: date) -> Iterator[dict]:
        """The search items of ``login``'s pull requests merged in ``org`` from ``since`` to ``until``.

        A window holding more than the 1,000 results GitHub's search returns is split in two
        halves, recursively, until each half fits.
        """
        query = f"is:pr is:merged author:{login} org:{org} merged:{since.isoformat()}..{until.isoformat()}"
        params = {"q": query, "per_page": PER_PAGE, "page": 1}
        page, response = self._search_page(f"{self.base_url}/search/issues", params, query=query, number=1)
        if page["total_count"] > SEARCH_CAP and since < until:
            middle = since + (until - since) // 2
            logger.info("%s: %s results, splitting at %s", query, page["total_count"], middle)
            yield from self.search_merged(login=login, org=org, since=since, until=middle)
            yield from self.search_merged(login=login, org=org, since=middle + timedelta(days=1), until=until)
            return
        if page["total_count"] > SEARCH_CAP:
            self.warnings.append(
                f"{query}: {page['total_count']} results in one day; only {SEARCH_CAP} readable"
            )
        number = 1
        while True:
            yield from page["items"]
            next_url = response.links.get("next", {}).get("url")
            if not next_url:
                return
            if urlsplit(next_url)[:2] != urlsplit(self.base_url)[:2]:
                # The token must never travel to another host.
                raise GitHubError(f"GitHub's next-page link for {query!r} points to another host.")
            number += 1
            if number > SEARCH_CAP // PER_PAGE + 1:
                raise GitHubError(f"GitHub kept linking past page {number - 1} for {query!r}.")
            page, response = self._search_page(next_url, None, query=query, number=number)

    def _search_page(
        self, url: str, params: dict[str, Any] | None, *, query: str, number: int
    ) -> tuple[dict, requests.Response]:
        what = f"the search {query!r} (page {number})"
        payload, response = self._get_json(url, params, what=what)
        validate_search_page(payload, where=f"GitHub's answer to {what}")
        if payload.get("incomplete_results") is True:
            # GitHub's search timed out on its side: the page may miss items.
            self.warnings.append(f"{query} page {number}: GitHub reported incomplete results")
        return payload, response


def _message(response: requests.Response) -> str:
    """GitHub's error message, short, from a JSON error body when there is one."""
    try:
        body = response.json()
    except ValueError:
        return repr(response.text[:80])
    if isinstance(body, dict):
        parts = [str(body.get("message", ""))]
        for error in body.get("errors") or []:
            if isinstance(error, dict) and error.get("message"):
                parts.append(str(error["message"]))
        return " ".join(p for p in parts if p)[:300]
    return repr(response.text[:80])


# --- parsing --------------------------------------------------------------------------------


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def parse_json(text: str, *, what: str) -> Any:
    """Decode ``text`` as strict JSON (no NaN or Infinity, bounded nesting), or say what it was."""
    try:
        return json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise MalformedResponse(f"{what} is nested too deeply to be a GitHub answer.") from None
    except ValueError as exc:
        start = text.lstrip()[:60]
        if start.startswith("<"):
            raise MalformedResponse(f"{what} is an HTML page, not JSON: {start!r}") from None
        if not start:
            raise MalformedResponse(f"{what} is empty, not JSON.") from None
        raise MalformedResponse(f"{what} is not valid JSON ({str(exc)[:200]}); it begins {start!r}") from None


_KINDS = {str: "a string", int: "an integer", dict: "an object", list: "a list", bool: "true or false"}


def _need(mapping: dict, key: str, kind: type, *, where: str, nullable: bool = False) -> Any:
    if key not in mapping:
        raise MalformedResponse(f"{where}: {key!r} is missing.")
    value = mapping[key]
    if value is None and nullable:
        return None
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise MalformedResponse(f"{where}: {key!r} should be {_KINDS[kind]}, not {shown(value)}.")
    return value


def validate_search_page(payload: Any, *, where: str) -> None:
    """Check the envelope GitHub documents: ``total_count``, ``incomplete_results``, ``items``."""
    if not isinstance(payload, dict):
        raise MalformedResponse(
            f"{where} should be a JSON object with 'items', not {type(payload).__name__}."
        )
    _need(payload, "total_count", int, where=where)
    items = _need(payload, "items", list, where=where)
    for index, item in enumerate(items, 1):
        if not isinstance(item, dict):
            raise MalformedResponse(f"{where}: item {index} should be an object, not {item!r}.")


def _timestamp(value: str, *, key: str, where: str) -> datetime:
    """An aware instant within the plausible dates, else MalformedResponse: "2024-02-30" makes
    ``parse_datetime`` raise, and 9999-12-31T23:59:59-14:00 overflows when converted to UTC."""
    try:
        parsed = parse_datetime(value) if value.isascii() else None  # "\d" matches "٢" too
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise MalformedResponse(
            f"{where}: {key!r} should be an ISO 8601 time with a zone, not {shown(value)}."
        )
    try:
        in_utc = parsed.astimezone(UTC)
    except OverflowError:
        in_utc = None
    if in_utc is None or not (is_plausible(parsed) and is_plausible(in_utc)):
        raise MalformedResponse(f"{where}: {key!r}: {implausible_message(parsed)}")
    return parsed


def repository_full_name(repository_url: str, *, where: str) -> str:
    """``org/name`` from an API repository URL such as ``https://api.github.com/repos/org/name``."""
    _, marker, rest = urlsplit(repository_url).path.partition("/repos/")
    parts = rest.strip("/").split("/")
    if not marker or len(parts) != 2 or not all(parts):
        raise MalformedResponse(f"{where}: 'repository_url' {repository_url!r} does not name org/name.")
    return "/".join(parts)


def pull_request_row(item: dict, *, where: str) -> dict:
    """One search item as the row :func:`contributions.services.pull_requests_upsert` takes."""
    number = _need(item, "number", int, where=where)
    where = f"{where} (#{number})"
    repository = repository_full_name(_need(item, "repository_url", str, where=where), where=where)
    pull = _need(item, "pull_request", dict, where=where)
    user = _need(item, "user", dict, where=where, nullable=True)
    # A deleted account is shown by GitHub as the "ghost" user.
    login = _need(user, "login", str, where=f"{where} user") if user else "ghost"
    user_type = user.get("type") if user else None
    merged = pull.get("merged_at") or _need(item, "closed_at", str, where=where, nullable=True)
    if not isinstance(merged, str):
        raise MalformedResponse(f"{where}: neither 'pull_request.merged_at' nor 'closed_at' is set.")
    return {
        "repository": repository,
        "number": number,
        "title": _need(item, "title", str, where=where)[:500],
        "url": _need(item, "html_url", str, where=where),
        "author_login": login,
        "created_at": _timestamp(_need(item, "created_at", str, where=where), key="created_at", where=where),
        "merged_at": _timestamp(merged, key="merged_at", where=where),
        "is_bot": login.lower().endswith("[bot]") or user_type == "Bot",
    }


def load_search_file(path: str | Path) -> list[dict]:
    """The items of a saved search answer: one page object, or a list of page objects."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedResponse(
            f"{path.name} is not UTF-8 text (byte 0x{exc.object[exc.start : exc.start + 1].hex()} at "
            f"offset {exc.start}): a saved search answer is UTF-8 JSON."
        ) from None
    except OSError as exc:
        raise GitHubError(f"Cannot read {path.name}: {exc.__class__.__name__}.") from None
    payload = parse_json(text, what=path.name)
    pages = payload if isinstance(payload, list) else [payload]
    items: list[dict] = []
    for number, page in enumerate(pages, 1):
        validate_search_page(page, where=f"{path.name} page {number}" if len(pages) > 1 else path.name)
        items.extend(page["items"])
    return items


def save_search_file(path: str | Path, items: list[dict]) -> None:
    """Write ``items`` as one search answer, so ``--from-file`` can replay it offline."""
    path = Path(path)
    partial = path.with_name(path.name + ".partial")
    with partial.open("w", encoding="utf-8") as stream:
        json.dump({"total_count": len(items), "incomplete_results": False, "items": items}, stream)
    partial.replace(path)  # never leave half a file under the real name


# --- the sync run ---------------------------------------------------------------------------


def sync_window(*, since: date | None = None, until: date | None = None) -> tuple[date, date]:
    """The merge dates to ask for: incremental from the last successful API run, with an overlap.

    The overlap re-reads the last few days, so pull requests merged while the previous run was
    searching, or indexed late by GitHub's search, are not missed; the upsert makes it free.
    """
    until = until or timezone.localdate()
    if since is None:
        last_until = (
            SyncRun.objects.filter(
                status=SyncRun.Status.SUCCEEDED, source=SyncRun.Source.API, until__isnull=False
            )
            .order_by("-started_at", "-id")
            .values_list("until", flat=True)
            .first()
        )
        if last_until is not None:
            since = last_until - timedelta(days=_setting("OPSITE_GITHUB_SYNC_OVERLAP_DAYS", 3))
        else:
            since = parse_date(str(_setting("OPSITE_CONTRIBUTIONS_SINCE", "2021-01-01")))
    if since > until:
        raise ValidationError({"since": f"The window starts on {since} after it ends on {until}."})
    return since, until


def staff_handles(since: date, until: date) -> list[str]:
    """GitHub logins of staff employed at some point of the window."""
    from staff.models import StaffMember

    return list(
        StaffMember.objects.exclude(github__isnull=True)
        .exclude(github="")
        .filter(start_on__lte=until)
        .filter(Q(end_on__isnull=True) | Q(end_on__gte=since))
        .order_by(Lower("github"))
        .values_list("github", flat=True)
    )


def key_orgs() -> list[str]:
    """The GitHub organizations of the key upstream communities, lower-cased, sorted."""
    orgs = UpstreamCommunity.objects.filter(is_key=True).values_list("github_orgs", flat=True)
    return sorted({org.strip().lower() for listed in orgs for org in (listed or []) if org.strip()})


def _fetch(client: GitHubClient, since: date, until: date) -> tuple[list[dict], list[dict], list[str], dict]:
    """Search every (handle, org) pair: raw items, rows, unknown handles, details."""
    orgs = key_orgs()
    handles = staff_handles(since, until)
    items: list[dict] = []
    rows: list[dict] = []
    unknown_handles: list[str] = []
    unknown_orgs: set[str] = set()
    for login in handles:
        for org in orgs:
            if org in unknown_orgs:
                continue
            try:
                found = client.search_merged(login=login, org=org, since=since, until=until)
                for index, item in enumerate(found, 1):
                    rows.append(pull_request_row(item, where=f"result {index} for author:{login} org:{org}"))
                    items.append(item)
            except SearchRefused:
                # 422 names neither the user nor the org: ask GitHub about the user to tell which.
                if client.user_exists(login):
                    unknown_orgs.add(org)
                    continue
                unknown_handles.append(login)
                break
    details = {
        "orgs": orgs,
        "handles": len(handles),
        "unknown_orgs": sorted(unknown_orgs),
        "waited_seconds": client.waited,
        "warnings": client.warnings,
    }
    if not orgs:
        details["warnings"].append("No key upstream community names a GitHub organization.")
    return items, rows, unknown_handles, details


def _dedupe(rows: list[dict]) -> list[dict]:
    by_key = {(row["repository"].lower(), row["number"]): row for row in rows}
    return list(by_key.values())


def pull_requests_sync(
    *,
    since: date | None = None,
    until: date | None = None,
    from_file: str | Path | None = None,
    save_to: str | Path | None = None,
    client: GitHubClient | None = None,
) -> SyncRun:
    """Run one sync, from the API or a saved file, and return its :class:`SyncRun`.

    The run row is created first (outside the batch) so a failure is recorded too; the pull
    requests and the run's success are then written in one transaction. Expected failures
    (GitHub errors, malformed answers, refused rows) mark the run ``failed`` and write nothing;
    a long rate limit marks it ``rate_limited`` with ``retry_at``.
    """
    from .services import pull_requests_upsert

    # The window is stored on the run and searched day by day: a year 9999 would overflow.
    check_plausible(since, field="since")
    check_plausible(until, field="until")
    if from_file is None:
        since, until = sync_window(since=since, until=until)
    elif since and until and since > until:
        raise ValidationError({"since": f"The window starts on {since} after it ends on {until}."})
    run = SyncRun.objects.create(
        source=SyncRun.Source.FILE if from_file is not None else SyncRun.Source.API,
        started_at=timezone.now(),
        since=since,
        until=until,
    )
    api = None
    try:
        if from_file is not None:
            items = load_search_file(from_file)
            where = Path(from_file).name
            rows = [pull_request_row(item, where=f"{where} item {n}") for n, item in enumerate(items, 1)]
            unknown_handles, details = [], {}
        else:
            api = client or GitHubClient()
            items, rows, unknown_handles, details = _fetch(api, since, until)
        if save_to is not None:
            save_search_file(save_to, items)
        rows = _dedupe(rows)
        with transaction.atomic():
            outcome = pull_requests_upsert(rows=rows)
            # Joins the upsert's own request: one recompute per run, after the commit.
            request_recompute(ROLLUPS)
            run.created, run.updated, run.bots = outcome.created, outcome.updated, outcome.bots
            run.fetched = len(rows)
            run.unknown_handles = unknown_handles
            run.details = {
                **details,
                "unchanged": outcome.unchanged,
                "repositories_created": outcome.repositories_created,
                "non_staff_authors": len(outcome.unknown_logins),
            }
            run.requests = api.requests_made if api else 0
            run.status = SyncRun.Status.SUCCEEDED
            run.finished_at = timezone.now()
            run.save()
    except RateLimited as exc:
        _record_failure(run, api, exc, status=SyncRun.Status.RATE_LIMITED)
        run.retry_at = run.finished_at + timedelta(seconds=exc.wait_seconds)
        run.save(update_fields=["retry_at", "updated_at"])
        return run
    except (GitHubError, ValidationError, ImportFailed, OSError) as exc:
        _record_failure(run, api, exc, status=SyncRun.Status.FAILED)
        return run
    except BaseException as exc:
        # Unexpected (a bug, a time limit): record it, then let it surface.
        _record_failure(run, api, exc, status=SyncRun.Status.FAILED)
        raise
    logger.info(
        "GitHub sync %s: %s fetched, %s created, %s updated", run.pk, run.fetched, run.created, run.updated
    )
    return run


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ValidationError):
        if hasattr(exc, "error_dict"):
            return "; ".join(f"{field}: {' '.join(m)}" for field, m in exc.message_dict.items())
        return " ".join(exc.messages)
    return str(exc) or exc.__class__.__name__


def _record_failure(run: SyncRun, api: GitHubClient | None, exc: BaseException, *, status: str) -> None:
    run.status = status
    run.error = _describe(exc)[:2000]
    run.requests = api.requests_made if api else 0
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "error", "requests", "finished_at", "updated_at"])
    logger.warning("GitHub sync %s %s: %s", run.pk, status, run.error)
