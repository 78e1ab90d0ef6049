"""Which staff member wrote a pull request: ``PullRequest.author``, derived from the login.

The author is the staff member whose GitHub handle is the pull request's ``author_login``,
whatever its letter case. It is derived here and nowhere else:

* for one pull request, by :func:`pull_request_derive` (the create and update services);
* for a batch (an import, the batch endpoint, the GitHub importer), from one query for the whole
  batch: :func:`staff_by_login`, which the bulk upsert uses, and :func:`authors_of_batch`,
  within which :func:`pull_request_derive` asks the database no more;
* after the roster changes, by :func:`pull_request_authors_resolve`, which ``ContributionsConfig``
  subscribes to the staff services' ``ROSTER_CHANGED`` announcement (``opsite/core/events.py``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Exists, OuterRef, Subquery
from django.db.models.functions import Lower
from django.utils import timezone

from opsite.core.recompute import ROLLUPS, request_recompute
from staff.models import StaffMember

from ..models import PullRequest
from ._base import is_bot_login


def staff_by_login(logins: Iterable[str]) -> dict[str, StaffMember]:
    """Lower-cased GitHub login -> staff member, for those of ``logins`` that are staff handles.

    One query whatever the number of logins: the roster's handles are read whole (the roster is
    small) and matched in Python, case-insensitively, where an ``IN`` list of a large batch would
    need a query per :data:`~contributions.services._base.IN_CHUNK` logins on SQLite. The members
    carry their slug and name, for a door that shows who the author is.
    """
    wanted = {login.lower() for login in logins if login}
    if not wanted:
        return {}
    found: dict[str, StaffMember] = {}
    roster = StaffMember.objects.filter(github__isnull=False).only("pk", "slug", "name", "github")
    for member in roster.order_by("pk"):
        if member.github.lower() in wanted:
            found.setdefault(member.github.lower(), member)
    return found


@dataclass(frozen=True)
class _BatchAuthors:
    """The authors of one batch's logins, read in one query."""

    logins: frozenset[str]
    staff: dict[str, StaffMember]


_batch: ContextVar[_BatchAuthors | None] = ContextVar("contributions_batch_authors", default=None)


@contextmanager
def authors_of_batch(logins: Iterable[str]) -> Iterator[None]:
    """Within the block, :func:`pull_request_derive` takes the authors of ``logins`` from one query.

    For a door that saves a batch row by row through the services (an import): without it,
    each row would cost a query on the roster. A login outside ``logins`` is still looked up.
    """
    wanted = frozenset(login.strip().lower() for login in logins if isinstance(login, str) and login.strip())
    token = _batch.set(_BatchAuthors(wanted, staff_by_login(wanted)))
    try:
        yield
    finally:
        _batch.reset(token)


def pull_request_derive(pull_request: PullRequest) -> None:
    """Trim the login, resolve ``author`` from ``StaffMember.github`` (any case) and flag bots.

    An explicit ``is_bot=True`` is kept: GitHub marks some bot accounts only by their type.
    """
    login = (pull_request.author_login or "").strip()
    pull_request.author_login = login
    pull_request.is_bot = bool(pull_request.is_bot) or is_bot_login(login)
    batch = _batch.get()
    if login and batch is not None and login.lower() in batch.logins:
        # The member itself, not only its id: a door that shows the author next (an import's
        # report of the row) need not read it again.
        pull_request.author = batch.staff.get(login.lower())
    elif login:
        pull_request.author_id = (
            StaffMember.objects.filter(github__iexact=login).values_list("pk", flat=True).first()
        )
    else:
        pull_request.author_id = None


@transaction.atomic
def pull_request_authors_resolve() -> int:
    """Re-resolve every pull request's author from the staff GitHub handles.

    Run after the roster changes (``ROSTER_CHANGED``, once per transaction). Two UPDATE
    statements, touching only the rows whose author is wrong: first unlink authors whose handle
    no longer matches the login, then link the unlinked rows whose login now matches a handle.
    Returns the number of rows changed.
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
