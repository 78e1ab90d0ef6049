"""Side effects that belong to an app above the one whose service causes them.

A service of a lower app (say, ``staff``) cannot import the app that must react (``contributions``
re-resolves pull-request authors when the roster changes): the dependency rule forbids it. So the
service *announces* what happened, by name, and the upper app *subscribes* a handler in its
``AppConfig.ready``. Announcements collapse per transaction like recompute requests: however many
rows one transaction changes, each handler runs once, after the commit (and never for a
transaction that rolls back). Outside a transaction the handler runs at once.

This is not a model signal: only the service that owns the write announces, so the side effect
has one trigger whichever door (admin, import, API) the write came in by.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import transaction

# The events the apps announce, by name. Add one here when an app needs to announce one.
ROSTER_CHANGED = "staff.roster_changed"
EVENTS = frozenset({ROSTER_CHANGED})

_handlers: dict[str, list[Callable[[], None]]] = {}


def subscribe(event: str, handler: Callable[[], None]) -> None:
    """Run ``handler`` (no arguments) after each transaction that announced ``event``; idempotent."""
    _check(event)
    handlers = _handlers.setdefault(event, [])
    if handler not in handlers:
        handlers.append(handler)


def subscribers(event: str) -> tuple[Callable[[], None], ...]:
    _check(event)
    return tuple(_handlers.get(event, ()))


def announce(event: str, *, using: str | None = None) -> None:
    """Say that ``event`` happened; its handlers run once after the current transaction commits."""
    _check(event)
    connection = transaction.get_connection(using)
    if not connection.in_atomic_block:
        _run(event)
        return
    waiting: dict[str, Callable[[], None]] = connection.__dict__.setdefault("_opsite_announced", {})
    callback = waiting.get(event)
    # Still registered on this transaction? A rolled-back savepoint drops its callbacks, and a
    # finished transaction has run them: either way, register anew.
    if callback is not None and any(entry[1] is callback for entry in connection.run_on_commit):
        return

    def callback() -> None:
        waiting.pop(event, None)
        _run(event)

    waiting[event] = callback
    transaction.on_commit(callback, using=using)


def _run(event: str) -> None:
    for handler in _handlers.get(event, ()):
        handler()


def _check(event: str) -> None:
    if event not in EVENTS:
        raise ValueError(f"Unknown event {event!r}; known events are {sorted(EVENTS)}.")
