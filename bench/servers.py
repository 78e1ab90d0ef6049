"""What the load benchmarks (``bench/api.py``, ``bench/public_page.py``) serve and load with, as
in production: gunicorn with the production settings and Redis as the cache, and ``wrk`` as the
load generator on loopback.

- Redis: ``REDIS_URL`` (default ``redis://127.0.0.1:6379/0``) when it answers, else a throwaway
  ``redis-server`` on a free loopback port, without persistence, stopped afterwards. The workers
  keep in it what production keeps there: the throttle's counters, which expire within a minute.
  Nothing is flushed.
- gunicorn: sync workers, ``opsite.settings.production`` (Redis cache, database connections kept
  between requests, the security middleware's headers) on the benchmark's own database, with
  every public figure published (funding and the hub data files too) and the throttle at a rate
  no run reaches, so that it stays in the path without refusing anything.
- wrk (the Debian package ``wrk``): a C load generator, an event loop on one thread, so that the
  load costs the two cores it shares with the workers next to nothing, unlike the Python threads
  this replaced. Installed with ``apt-get`` when missing and this process may (root, or ``sudo``
  without a password); otherwise the benchmark is skipped and says why (a failure under
  ``CI=true``, as for the test suite's services).
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
WORKERS = 2
CONNECTIONS = 8
# What wrk's script prints when a round is done: one line, parsed by :func:`wrk_round`.
WRK_SCRIPT = """
-- As every browser and fetch() asks: an answer may come gzipped.
wrk.headers["Accept-Encoding"] = "gzip, deflate, br"
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("OPSITE-WRK %.0f %.0f %.0f %.0f %.0f %.0f %.0f %.0f\\n",
    summary.requests, summary.duration, latency:percentile(95),
    e.connect, e.read, e.write, e.status, e.timeout))
end
"""
WRK_ERRORS = ("connect", "read", "write", "status", "timeout")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def stop(process: subprocess.Popen) -> None:
    """Stop a process started in its own session, and its children, for sure."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=20)
    except ProcessLookupError:
        pass


def wait_for(condition, *, seconds: float, what: str, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise SystemExit(f"{what}: the process exited with status {process.returncode}")
        try:
            if condition():
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{what}: no answer within {seconds:.0f} s")


# --- Redis ----------------------------------------------------------------------------------------


def _redis_answers(url: str) -> bool:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    try:
        return bool(client.ping())
    except (redis.RedisError, OSError):
        return False
    finally:
        client.close()


@contextmanager
def redis() -> Iterator[str]:
    """The URL of a Redis that answers: ``REDIS_URL``'s, or a throwaway server's."""
    url = os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL
    if _redis_answers(url):
        yield url
        return
    executable = shutil.which("redis-server")
    if executable is None:
        raise SystemExit(
            f"no Redis answers at {url}, and redis-server (Debian package redis-server) is missing"
        )
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="opsite-bench-redis-") as folder:
        process = subprocess.Popen(
            [executable, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", folder, "--daemonize", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        try:
            own = f"redis://127.0.0.1:{port}/0"
            wait_for(lambda: _redis_answers(own), seconds=10, what="redis-server", process=process)
            print(f"# no Redis at {url}: a throwaway redis-server on port {port}", flush=True)
            yield own
        finally:
            stop(process)


# --- gunicorn -------------------------------------------------------------------------------------


def get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def start_gunicorn(port: int, redis_url: str, *, ready_path: str = "/bench/trivial/") -> subprocess.Popen:
    """gunicorn serving ``bench.api:wsgi_application()`` on loopback ``port``, once it answers."""
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="opsite.settings.production",
        DJANGO_SECRET_KEY=f"bench-only-{secrets.token_hex(32)}",
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        # Plain HTTP on loopback: no redirect to HTTPS.
        DJANGO_SECURE_SSL_REDIRECT="false",
        DJANGO_LOG_LEVEL="WARNING",
        REDIS_URL=redis_url,
        # Keep the database connection between requests, as production does.
        DATABASE_URL=f"{env['DATABASE_URL'].split('?')[0]}?conn_max_age=600",
        # The throttle stays in the path, at a rate this run cannot reach.
        OPSITE_PUBLIC_THROTTLE="100000000/min",
        OPSITE_PUBLIC_FUNDING="true",
        OPSITE_PUBLIC_HUB_DATA="true",
        # Static files are not collected for a benchmark: whitenoise's warning about it is noise.
        PYTHONWARNINGS="ignore:No directory at:UserWarning",
    )
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", str(WORKERS),
         "--worker-class", "sync", "--log-level", "warning", "bench.api:wsgi_application()"],
        cwd=ROOT, env=env, start_new_session=True,
    )  # fmt: skip
    wait_for(lambda: get(port, ready_path)[0] == 200, seconds=60, what="gunicorn", process=server)
    return server


def server_cpu_seconds(server: subprocess.Popen) -> float:
    """User and system CPU of the gunicorn master and its workers so far (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    pids = [server.pid]
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children")
    if children.exists():
        pids += [int(pid) for pid in children.read_text().split()]
    total = 0
    for pid in pids:
        try:
            # Fields 14 and 15 (utime, stime), counted after the command name's closing parenthesis.
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / ticks


# --- wrk ------------------------------------------------------------------------------------------


def ensure_wrk() -> tuple[str | None, str]:
    """wrk's path, installing the Debian package when missing and allowed; else None and why."""
    found = shutil.which("wrk")
    if found:
        return found, ""
    if os.geteuid() == 0:
        prefix: list[str] = []
    elif shutil.which("sudo") and subprocess.call(["sudo", "-n", "true"], stderr=subprocess.DEVNULL) == 0:
        prefix = ["sudo", "-n"]
    else:
        return None, "wrk is missing, and installing it needs root (apt-get install wrk)"
    if not shutil.which("apt-get"):
        return None, "wrk is missing, and there is no apt-get to install it with"
    print("# installing wrk (apt-get install wrk)", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = [*prefix, "apt-get", "install", "-y", "-qq", "--no-install-recommends", "wrk"]
    if subprocess.call(install, env=env, stdout=subprocess.DEVNULL) != 0:
        subprocess.call([*prefix, "apt-get", "update", "-qq"], env=env, stdout=subprocess.DEVNULL)
        subprocess.call(install, env=env, stdout=subprocess.DEVNULL)
    found = shutil.which("wrk")
    return (found, "") if found else (None, "wrk is missing, and apt-get could not install it")


@dataclass
class Load:
    """What one round of requests to one path measured."""

    requests: int
    seconds: float
    p95_ms: float
    errors: dict[str, int] = field(default_factory=dict)
    # CPU the gunicorn workers spent in the round: what serving cost, whatever else ran meanwhile.
    server_cpu_seconds: float = 0.0

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @property
    def server_cpu_ms(self) -> float:
        """Server CPU per request, in milliseconds."""
        return self.server_cpu_seconds / max(self.requests, 1) * 1000


def wrk_round(wrk: str, port: int, path: str, seconds: int, server: subprocess.Popen | None = None) -> Load:
    """One round of wrk on ``path`` for ``seconds`` (whole seconds: wrk takes no fraction; one
    thread, :data:`CONNECTIONS` connections), with the server CPU it cost when ``server`` is given."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", prefix="opsite-bench-wrk-") as script:
        script.write(WRK_SCRIPT)
        script.flush()
        before = server_cpu_seconds(server) if server else 0.0
        output = subprocess.run(
            [wrk, "--threads", "1", "--connections", str(CONNECTIONS), "--duration", f"{int(seconds)}s",
             "--timeout", "30s", "--script", script.name, f"http://127.0.0.1:{port}{path}"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        cpu = server_cpu_seconds(server) - before if server else 0.0
    found = re.search(r"^OPSITE-WRK ((?:\d+ ?){8})$", output.stdout, re.MULTILINE)
    if output.returncode != 0 or found is None:
        said = (output.stderr.strip() or output.stdout.strip())[:300]
        raise SystemExit(f"wrk on {path} failed (exit {output.returncode}): {said}")
    requests, duration_us, p95_us, *errors = (int(value) for value in found.group(1).split())
    return Load(
        requests=requests,
        seconds=duration_us / 1e6,
        p95_ms=p95_us / 1000,
        errors={name: count for name, count in zip(WRK_ERRORS, errors, strict=True) if count},
        server_cpu_seconds=cpu,
    )


def failures(*rounds: list[Load]) -> dict[str, int]:
    """The errors wrk met in the rounds, by kind (``status``: answers other than 2xx and 3xx)."""
    total: dict[str, int] = {}
    for each in rounds:
        for round_ in each:
            for kind, count in round_.errors.items():
                total[kind] = total.get(kind, 0) + count
    return total


def skip_or_fail(name: str, reason: str) -> None:
    """A benchmark that cannot run here says why; CI must run every one, so there it fails."""
    print(f"{name} skipped: {reason}", flush=True)
    if os.environ.get("CI", "").lower() == "true":
        raise SystemExit(f"{name}: CI must run this benchmark, but {reason}")
