"""The demo's upstream pull requests: those of the published history, then each later month.

A later month's pull requests are drawn from that month's own stream, by whoever was on the team
then, at their usual pace. On the day the demo ends, the pull requests opened but not yet merged are
open, and each member of the team has a draft or two in progress.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from . import data
from .dates import HISTORY_END, month_end
from .people import Person

SEED = 2021


def rng(section: str) -> random.Random:
    return random.Random(f"{SEED}-{section}")


def pull_requests(
    history: list[data.PullRequestSpec],
    weights: list[float],
    key_repos: list[str],
    other_repos: list[str],
    people: list[Person],
    end: date,
) -> list[data.PullRequestSpec]:
    """Every pull request as it stands at the end of ``end``: merged, or open if merged after it."""
    if end <= HISTORY_END:
        return history
    numbers: dict[str, int] = defaultdict(int)
    for spec in history:
        numbers[spec.repo] = max(numbers[spec.repo], spec.number)
    cutoff = datetime(end.year, end.month, end.day, 23, 59, 59, tzinfo=UTC)
    found = _history_drafts_merged(history, cutoff)
    month = HISTORY_END + timedelta(days=1)
    # The month after ``end`` too: some of its pull requests were opened before ``end``.
    while month <= month_end(end + timedelta(days=1)):
        stream = rng(f"contributions-{month:%Y-%m}")
        drawn = _month(stream, month, people, weights, key_repos, other_repos)
        found.extend(_numbered(stream, drawn, numbers))
        month = month_end(month) + timedelta(days=1)
    shown = [
        spec if spec.merged_at is None or spec.merged_at <= cutoff else replace(spec, merged_at=None)
        for spec in found
        if spec.created_at <= cutoff
    ]
    return shown + _drafts(people, end, weights, key_repos, numbers)


def _history_drafts_merged(
    history: list[data.PullRequestSpec], cutoff: datetime
) -> list[data.PullRequestSpec]:
    """The work in progress at the end of 2024 was merged early in 2025."""
    stream = rng("contributions-drafts-2024")
    found = []
    for spec in history:
        if spec.merged_at is None:
            merged = data._moment(stream, date(2025, 1, 6), date(2025, 3, 31))
            spec = replace(spec, merged_at=merged if merged <= cutoff else None)
        found.append(spec)
    return found


def _month(stream, month, people, weights, key_repos, other_repos) -> list[tuple[str, str, datetime]]:
    last = month_end(month)
    drawn: list[tuple[str, str, datetime]] = []
    for person in people:
        end = person.end_on or last
        if person.start_on > last or end < month:
            continue
        tenure = (month.year - person.start_on.year) * 12 + month.month - person.start_on.month
        # New people take a few months to find their footing upstream.
        expected = person.pull_requests_a_month * min(1.0, 0.4 + 0.15 * tenure) * stream.uniform(0.6, 1.4)
        for _ in range(int(expected + stream.random())):
            merged = data._moment(stream, max(month, person.start_on), min(last, end))
            # A few go to repositories outside the key communities.
            repo = (
                stream.choice(other_repos)
                if stream.random() < 0.05
                else stream.choices(key_repos, weights)[0]
            )
            drawn.append((repo, person.github, merged))
    for _ in range(stream.randint(5, 11)):
        drawn.append(
            (
                stream.choices(key_repos, weights)[0],
                stream.choice(data._OUTSIDE_LOGINS),
                data._moment(stream, month, last),
            )
        )
    for login, count in (
        ("dependabot[bot]", stream.randint(1, 5)),
        ("pre-commit-ci[bot]", stream.randint(1, 4)),
    ):
        for _ in range(count):
            drawn.append((stream.choice(key_repos), login, data._moment(stream, month, last)))
    return drawn


def _numbered(
    stream: random.Random, drawn: list[tuple[str, str, datetime | None]], numbers: dict[str, int]
) -> list[data.PullRequestSpec]:
    """Creation times, titles and numbers (going on from the repository's last) for ``drawn``."""
    by_repo: dict[str, list[tuple[datetime, str, datetime | None]]] = defaultdict(list)
    for repo, login, merged in drawn:
        created = merged - timedelta(hours=stream.randint(2, 24 * 20))
        by_repo[repo].append((created, login, merged))
    found = []
    for repo in sorted(by_repo):
        for created, login, merged in sorted(by_repo[repo], key=lambda item: (item[0], item[1])):
            numbers[repo] += stream.randint(1, 12)
            found.append(
                data.PullRequestSpec(repo, numbers[repo], _title(stream, login), login, created, merged)
            )
    return found


def _title(stream: random.Random, login: str) -> str:
    if login == "dependabot[bot]":
        return f"Bump actions/checkout from {stream.randint(3, 4)} to 5"
    if login == "pre-commit-ci[bot]":
        return "[pre-commit.ci] pre-commit autoupdate"
    return f"{stream.choice(data._VERBS)} {stream.choice(data._THINGS)}"


def _drafts(people, end, weights, key_repos, numbers) -> list[data.PullRequestSpec]:
    """A draft or two per person on the team at ``end``, opened in the weeks before it."""
    stream = rng(f"contributions-drafts-{end.isoformat()}")
    first = end - timedelta(days=45)
    found = []
    for person in people:
        if not person.employed_on(end) or person.pull_requests_a_month < 1:
            continue
        for _ in range(stream.randint(1, 2)):
            repo = stream.choices(key_repos, weights)[0]
            numbers[repo] += stream.randint(1, 12)
            created = data._moment(stream, max(first, person.start_on), end)
            found.append(
                data.PullRequestSpec(
                    repo, numbers[repo], _title(stream, person.github), person.github, created, None
                )
            )
    return found
