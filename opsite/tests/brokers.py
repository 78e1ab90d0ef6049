"""The Celery app of the test process, publishing for real to a broker a test chooses."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager

from opsite.celery import app, reset_connections


def closed_port() -> int:
    """A port of this machine on which nothing listens (one that was free a moment ago)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def publishing_to(url: str) -> Iterator[None]:
    """Point this process's Celery app at ``url`` for real publishing (not eager), then restore it."""
    keys = ("broker_url", "result_backend", "task_always_eager")
    saved = {key: app.conf[key] for key in keys}
    app.conf.update(broker_url=url, result_backend=url, task_always_eager=False)
    reset_connections()
    try:
        yield
    finally:
        app.conf.update(saved)
        reset_connections()
