"""Scheduling the recompute of derived figures (the impact rollups, the runway) after a change.

A change to any input of a rollup or of the runway calls :func:`request_recompute` (the model
signals in ``opsite/core/signals.py`` do, and so must any service that writes with ``bulk_create`` or
``QuerySet.update``, which send no signals). Requests collapse: however many rows one transaction
changes, it registers one ``transaction.on_commit`` callback, which enqueues each asked-for kind
once after the commit. Nothing is enqueued for a transaction that rolls back.

Enqueueing is bounded (see ``CELERY_TASK_PUBLISH_RETRY_POLICY`` and the broker timeouts): when
the broker is down the caller gets on with its work within a few seconds, and the recompute stays
recorded as pending (:func:`recompute_pending`) until one that started after the request succeeds
(the tasks call :func:`recompute_succeeded`; the beat retries pending ones every 15 minutes).

In eager mode (the embedded default and the tests) the task runs inline, inside the callback.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from celery import Task, current_app
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from .models import RecomputeState

logger = logging.getLogger(__name__)

ROLLUPS = "rollups"
RUNWAY = "runway"
KINDS: tuple[str, ...] = (ROLLUPS, RUNWAY)

# Set while this thread runs a recompute inline (eager mode): a task that happens to save a watched
# model must not schedule yet another recompute of what it is computing.
_running = threading.local()


@dataclass(frozen=True)
class Enqueued:
    """What became of one enqueue: ``queued`` with its task id, or ``pending`` (not done).

    ``ran_inline`` says the task ran in eager mode, inside the call: then ``queued`` means done.
    """

    kind: str
    task_id: str | None
    status: Literal["queued", "pending"]
    ran_inline: bool = False
    # Queued by an earlier request that has not started yet: nothing new was published.
    coalesced: bool = False


# The task that recomputes each kind, by name: the kernel never imports the consumers that own
# them (docs/architecture.md). Each name is registered when the worker, or the web process through
# Celery's autodiscovery, imports the ``tasks`` module of its app.
TASK_NAMES: dict[str, str] = {
    ROLLUPS: "opsite.kpis.tasks.recompute_rollups",
    RUNWAY: "funding.tasks.recompute_runway",
}


def _task_for(kind: str) -> Task:
    app = current_app
    name = TASK_NAMES[kind]
    if name not in app.tasks:
        # The web process does not import task modules at start-up; Celery's autodiscovery does,
        # once, on first need.
        app.loader.import_default_modules()
    try:
        return app.tasks[name]
    except KeyError:
        raise LookupError(f"No Celery task named {name!r} is registered for the {kind} recompute.") from None


def _check_kinds(kinds: tuple[str, ...]) -> None:
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown or not kinds:
        raise ValueError(f"Unknown recompute kind(s) {unknown or '(none given)'}; expected some of {KINDS}.")


class _Batch:
    """The kinds one transaction asked for, flushed once by its ``on_commit`` callback."""

    def __init__(self) -> None:
        self.kinds: set[str] = set()
        self.done = False
        # Kept once, so the callback can be recognised in the connection's list by identity.
        self.callback = self.run

    def is_waiting_on(self, connection) -> bool:
        """Still registered on ``connection`` and not yet run.

        A rolled-back savepoint removes its callbacks from ``run_on_commit``; a batch registered
        inside one is then gone, and the next request must register a new one.
        """
        if self.done:
            return False
        return any(entry[1] is self.callback for entry in connection.run_on_commit)

    def run(self) -> None:
        self.done = True
        broker_down = False
        for kind in sorted(self.kinds):
            if broker_down:
                # Do not make the caller wait on a dead broker once per kind.
                _mark_requested_quietly(kind)
                continue
            outcome = enqueue_recompute(kind)
            broker_down = outcome.status == "pending" and not outcome.ran_inline


@contextmanager
def requests_ignored() -> Iterator[None]:
    """Within the block, this thread's writes ask for no recompute.

    For writes that change no figure anyone has computed yet: a test fixture emptying a table
    before the test's own writes, whose requests must not be collapsed into the fixture's.
    """
    previous = getattr(_running, "active", False)
    _running.active = True
    try:
        yield
    finally:
        _running.active = previous


def request_recompute(*kinds: str, using: str | None = None) -> None:
    """Ask for a recompute of ``kinds`` (``"rollups"``, ``"runway"``) once the transaction commits.

    Cheap enough to call for every saved row: within one transaction only the first call registers
    a callback; the others add their kinds to it.
    """
    _check_kinds(kinds)
    if getattr(_running, "active", False):
        return
    connection = transaction.get_connection(using)
    if not connection.in_atomic_block:
        # Autocommit: the change is already committed, so this is its own one-row "transaction".
        batch = _Batch()
        batch.kinds.update(kinds)
        batch.run()
        return
    waiting: _Batch | None = getattr(connection, "_opsite_recompute_batch", None)
    if waiting is None or not waiting.is_waiting_on(connection):
        waiting = _Batch()
        connection._opsite_recompute_batch = waiting
        transaction.on_commit(waiting.callback, using=using)
    waiting.kinds.update(kinds)


def enqueue_recompute(kind: str) -> Enqueued:
    """Enqueue the recompute of ``kind`` now (every scenario, for the runway); never raises.

    For callers outside a transaction, such as the runway API's "recompute" button. The kind is
    first recorded as pending, so a worker that finishes it, even before this returns, clears it.

    Requests coalesce across transactions: while a recompute of ``kind`` is queued and has not
    started, another request publishes nothing (:func:`_claim_queue`), since the queued one will
    read its change. A burst of writes therefore queues one recompute, not one per transaction.
    """
    _check_kinds((kind,))
    _mark_requested_quietly(kind)
    task = _task_for(kind)
    eager = bool(task.app.conf.task_always_eager)
    if not _claim_queue_quietly(kind):
        return Enqueued(kind=kind, task_id=None, status="queued", coalesced=True)
    _running.active = eager
    try:
        # The web side never reads the result: not subscribing to it keeps a dead result backend
        # (the same Redis as the broker) out of the request's path.
        result = task.apply_async(ignore_result=True)
    except Exception:
        if eager:
            logger.exception("The %s recompute failed; it stays pending.", kind)
        else:
            logger.warning(
                "Could not reach the task broker to enqueue the %s recompute; it stays pending.",
                kind,
                exc_info=True,
            )
        # Nothing is queued after all: the next request, or the beat, may try again at once.
        _release_queue_quietly(kind)
        return Enqueued(kind=kind, task_id=None, status="pending", ran_inline=eager)
    finally:
        _running.active = False
    return Enqueued(kind=kind, task_id=result.id, status="queued", ran_inline=eager)


def lost_after() -> timedelta:
    """How long a queued or started recompute may go without an outcome before it counts as lost.

    A worker killed whole takes its task with it, and Redis hands the message back only after
    its visibility timeout (an hour); the beat re-enqueues a lost recompute well before that.
    """
    return timedelta(seconds=getattr(settings, "OPSITE_RECOMPUTE_LOST_AFTER_SECONDS", 240))


def _claim_queue(kind: str) -> bool:
    """Whether this caller may publish the recompute of ``kind``: a conditional UPDATE.

    The row says when a recompute was last queued (``queued_at``, cleared when it starts). Only one
    caller turns "none queued" (or "queued so long ago it was lost") into "queued now".
    """
    now = timezone.now()
    free = Q(queued_at__isnull=True) | Q(queued_at__lt=now - lost_after())
    return bool(RecomputeState.objects.filter(Q(kind=kind) & free).update(queued_at=now, updated_at=now))


def _claim_queue_quietly(kind: str) -> bool:
    try:
        return _claim_queue(kind)
    except Exception:
        # Better a duplicate recompute (they are idempotent) than none.
        logger.exception("Could not claim the %s recompute's queue; publishing anyway.", kind)
        return True


def _release_queue_quietly(kind: str) -> None:
    try:
        RecomputeState.objects.filter(kind=kind).update(queued_at=None, updated_at=timezone.now())
    except Exception:
        logger.exception("Could not release the %s recompute's queue.", kind)


def recompute_started(kind: str) -> datetime:
    """Record that a recompute of ``kind`` starts now, and return that instant.

    It is no longer queued: a change committed from now on may not be in its figures, so a
    request for it must queue another recompute.
    """
    _check_kinds((kind,))
    now = timezone.now()
    RecomputeState.objects.filter(kind=kind).update(queued_at=None, started_at=now, updated_at=now)
    return now


def recompute_failed(kind: str, *, error: BaseException) -> None:
    """Record that a recompute of ``kind`` failed: it stays pending, and says so, with why.

    The reason is the exception's class and message, cut short; the dashboard and the admin show
    it to Finance and Leadership (the recompute's errors name tables, dates and currencies).
    """
    _check_kinds((kind,))
    now = timezone.now()
    reason = f"{type(error).__name__}: {error}"[:500]
    RecomputeState.objects.filter(kind=kind).update(failed_at=now, last_error=reason, updated_at=now)


def _mark_requested_quietly(kind: str) -> None:
    try:
        _mark_requested(kind)
    except Exception:
        # The flag is a courtesy to the dashboard; losing it must not lose the recompute.
        logger.exception("Could not record the %s recompute as pending.", kind)


def _mark_requested(kind: str) -> None:
    now = timezone.now()
    if RecomputeState.objects.filter(kind=kind).update(pending=True, requested_at=now, updated_at=now):
        return
    try:
        # A savepoint: losing the race to create the row must not break the caller's transaction.
        with transaction.atomic():
            RecomputeState.objects.create(kind=kind, pending=True, requested_at=now)
    except IntegrityError:
        RecomputeState.objects.filter(kind=kind).update(pending=True, requested_at=now, updated_at=now)


def recompute_succeeded(kind: str, *, started_at: datetime) -> None:
    """Record that a recompute of ``kind`` which started at ``started_at`` has succeeded.

    It clears the pending flag only if no request came in after it started: a change committed while
    it ran may not be in its figures, and the recompute that change enqueued is still owed.
    """
    _check_kinds((kind,))
    now = timezone.now()
    still_owed = Case(When(requested_at__gt=started_at, then=Value(True)), default=Value(False))
    outcome = {
        "pending": still_owed,
        "succeeded_at": now,
        "failed_at": None,
        "last_error": "",
        "updated_at": now,
    }
    if RecomputeState.objects.filter(kind=kind).update(**outcome):
        return
    try:
        with transaction.atomic():
            RecomputeState.objects.create(kind=kind, pending=False, succeeded_at=now)
    except IntegrityError:
        RecomputeState.objects.filter(kind=kind).update(**outcome)


def recompute_pending() -> dict[str, bool]:
    """``{"rollups": bool, "runway": bool}``: whether each recompute is still owed (one query)."""
    flags = dict.fromkeys(KINDS, False)
    flags.update(RecomputeState.objects.filter(kind__in=KINDS).values_list("kind", "pending"))
    return flags


def pending_kinds(*, requested_before: datetime) -> list[str]:
    """The kinds still owed whose latest request is older than ``requested_before``, leaving out
    those a live recompute is about to pay: queued, or started after that request, within
    :func:`lost_after` (past it, that recompute counts as lost)."""
    now = timezone.now()
    alive = now - lost_after()
    being_paid = Q(queued_at__gte=alive) | (Q(started_at__gte=alive) & Q(started_at__gte=F("requested_at")))
    return list(
        RecomputeState.objects.filter(pending=True, requested_at__lt=requested_before)
        .exclude(being_paid)
        .order_by("kind")
        .values_list("kind", flat=True)
    )


@dataclass(frozen=True)
class RecomputeStatus:
    """What the dashboard and the admin say of one kind: owed, failing, and since when."""

    kind: str
    pending: bool
    failed_at: datetime | None
    last_error: str
    succeeded_at: datetime | None


def recompute_statuses() -> dict[str, RecomputeStatus]:
    """Every kind's status, in one query; a kind never requested is neither pending nor failed."""
    found = {
        row.kind: RecomputeStatus(row.kind, row.pending, row.failed_at, row.last_error, row.succeeded_at)
        for row in RecomputeState.objects.filter(kind__in=KINDS)
    }
    return {kind: found.get(kind, RecomputeStatus(kind, False, None, "", None)) for kind in KINDS}
