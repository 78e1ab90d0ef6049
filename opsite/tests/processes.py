"""Servers a test starts in other processes (redis-server, gunicorn), and stops for sure.

The processes share the test's database, so it must be one another process can open: a SQLite
file (the default of the test settings) or PostgreSQL, with the test's rows committed
(``transaction=True``).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection

from conftest import require, require_executable


def free_port() -> int:
    """A loopback port on which nothing listens (one that was free a moment ago)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(condition: Callable[[], object], *, timeout: float, what: str) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


def stop(process: subprocess.Popen) -> None:
    """Stop a process started in its own session, and its children, for sure."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    except ProcessLookupError:
        pass


@contextmanager
def running_redis(folder: Path) -> Iterator[str]:
    """A throw-away ``redis-server`` on a free loopback port, no persistence: its URL."""
    server = require_executable("redis-server")
    port = free_port()
    with open(folder / "redis.log", "w") as log:
        process = subprocess.Popen(
            [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(folder), "--daemonize", "no"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        try:
            import redis

            client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=1)

            def answers() -> bool:
                try:
                    return bool(client.ping())
                except redis.RedisError:
                    return False

            wait_for(answers, timeout=10, what="redis-server to answer")
            client.close()
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            stop(process)


def shared_database_url() -> str:
    """The URL of the test database, for another process's ``DATABASE_URL``."""
    settings_dict = connection.settings_dict
    if connection.vendor == "postgresql":
        user = quote(settings_dict.get("USER") or "", safe="")
        password = quote(settings_dict.get("PASSWORD") or "", safe="")
        credentials = f"{user}:{password}@" if user else ""
        host, port = settings_dict.get("HOST") or "localhost", settings_dict.get("PORT") or "5432"
        return f"postgres://{credentials}{host}:{port}/{settings_dict['NAME']}"
    name = str(settings_dict["NAME"])
    require(
        connection.vendor == "sqlite" and not connection.is_in_memory_db(),
        "the test database is in memory, where another process cannot see it (OPSITE_TEST_SQLITE_FILE=0?)",
    )
    return f"sqlite:///{name}"
