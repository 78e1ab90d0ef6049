"""The throttles' counter on a real Redis: one round trip per counted request (opsite.core.api.throttling).

Django's ``RedisCache.incr`` takes two round trips (``EXISTS``, then ``INCR``); the throttles send
``SET NX EX`` and ``INCR`` in one ``MULTI``/``EXEC`` block instead. Round trips are counted where
the client writes to its socket (one write per round trip: a pipeline sends all its commands at
once), and checked against the server's own command counts.

The module starts a throw-away ``redis-server`` (``opsite/tests/processes.py``), so that the
server's command counts are the test's alone: the tests that need it skip on a workstation
without one, and fail in CI. The last test needs no server: one that cannot be reached.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Iterator

import pytest
import redis
import time_machine
from django.conf import settings
from django.core.cache import cache
from django.test import Client, RequestFactory, override_settings

from opsite.core.api.throttling import PublicRateThrottle, forget_reservations
from opsite.tests.processes import free_port, running_redis, wait_for

# 12:00:10 UTC: the minute's window has 50 seconds left.
START = dt.datetime(2025, 3, 3, 12, 0, 10, tzinfo=dt.UTC)
ADDRESS = "198.51.100.7"
# A public view answering without the rollup store: the published stories (none here).
PUBLIC_URL = "/api/v1/public/stories/"
# A token-authenticated view: a bad token there counts as a failed token.
TOKEN_URL = "/api/v1/communities/communities/"
BAD_TOKEN = "Token " + "0" * 40


def redis_caches(url: str) -> dict:
    return {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }


def with_rates(**rates: str) -> dict:
    return {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], **rates},
    }


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory) -> Iterator[str]:
    with running_redis(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture
def server(redis_url) -> Iterator[redis.Redis]:
    """A client of its own on the test's Redis, emptied before and after; Django's cache is that
    Redis for the test."""
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    with override_settings(CACHES=redis_caches(redis_url)):
        yield client
    client.flushdb()
    client.close()


class RoundTrips:
    """Counts the writes redis-py makes to its sockets: one per round trip."""

    def __init__(self, monkeypatch) -> None:
        self.count = 0
        send = redis.connection.AbstractConnection.send_packed_command

        def counted(connection, command, *args, **kwargs):
            self.count += 1
            return send(connection, command, *args, **kwargs)

        monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", counted)


def command_calls(server: redis.Redis) -> dict[str, int]:
    """How many times the server ran each command so far (``INFO commandstats``)."""
    return {
        name.removeprefix("cmdstat_"): stats["calls"] for name, stats in server.info("commandstats").items()
    }


def throttled() -> bool:
    """Whether the public throttle lets one more request from ``ADDRESS`` in (it counts it)."""
    request = RequestFactory().get(PUBLIC_URL, REMOTE_ADDR=ADDRESS)
    return PublicRateThrottle().allow_request(request, None)


def window_key(scope: str) -> str:
    """The cache key (before the cache's prefix) of ``ADDRESS``'s counter in the minute of ``START``."""
    return f"throttle_{scope}_{ADDRESS}:{int(START.timestamp() // 60)}"


@pytest.fixture
def frozen():
    with time_machine.travel(START, tick=False) as clock:
        yield clock


@pytest.mark.redis
def test_a_counted_request_costs_one_round_trip_and_no_exists(server, frozen, monkeypatch):
    # Under 100 a minute, a worker counts one request at a time.
    with override_settings(REST_FRAMEWORK=with_rates(public="99/min")):
        assert throttled()  # opens the connection (its handshake is not the throttle's cost)
        before = command_calls(server)
        round_trips = RoundTrips(monkeypatch)

        assert all(throttled() for _ in range(5))

        sent = round_trips.count
        after = command_calls(server)
    assert sent == 5
    # Per request: one EVALSHA of the counting script, whose INCRBY the server counts too (the key
    # exists: no EXPIRE); never Django's EXISTS, nor a pipeline.
    commands = ("exists", "incr", "incrby", "set", "multi", "exec", "evalsha", "eval", "expire")
    assert {name: after.get(name, 0) - before.get(name, 0) for name in commands} == {
        "exists": 0,
        "incr": 0,
        "expire": 0,
        "incrby": 5,
        "set": 0,
        "multi": 0,
        "exec": 0,
        "evalsha": 5,
        "eval": 0,
    }


@pytest.mark.redis
def test_the_count_is_kept_under_the_cache_api_key_with_the_windows_time_to_live(server, frozen):
    with override_settings(REST_FRAMEWORK=with_rates(public="99/min")):
        for _ in range(3):
            throttled()

        key = cache.make_and_validate_key(window_key("public"))
        # Django's Redis serializer keeps integers as such: the cache API reads the count back.
        assert cache.get(window_key("public")) == 3
    assert server.get(key) == b"3"
    # The window's 60 seconds and one more; Redis counts real time, not the frozen clock.
    assert 59_000 < server.pttl(key) <= 61_000


@pytest.mark.redis
def test_the_counter_expires_after_its_window(server):
    with override_settings(REST_FRAMEWORK=with_rates(public="100/s")):
        throttled()
        keys = server.keys("*throttle_public_*")
        assert len(keys) == 1
        assert 0 < server.pttl(keys[0]) <= 2_000  # a one-second window, and one second more

    wait_for(lambda: not server.exists(keys[0]), timeout=5, what="the window's counter to expire")


@pytest.mark.redis
def test_past_the_rate_the_public_api_answers_429_with_retry_after(server, frozen, db, monkeypatch):
    with override_settings(REST_FRAMEWORK=with_rates(public="3/min")):
        client = Client()
        client.get(PUBLIC_URL, REMOTE_ADDR=ADDRESS)  # connects
        round_trips = RoundTrips(monkeypatch)
        statuses = [client.get(PUBLIC_URL, REMOTE_ADDR=ADDRESS).status_code for _ in range(3)]
        response = client.get(PUBLIC_URL, REMOTE_ADDR=ADDRESS)
        other = client.get(PUBLIC_URL, REMOTE_ADDR="203.0.113.50")

    assert statuses == [200, 200, 429]  # the first request counted too: 429 at rate + 1
    assert response.status_code == 429
    assert response["Retry-After"] == "50"
    assert other.status_code == 200
    # One round trip per request, refused ones included (they are counted, then refused).
    assert round_trips.count == 5


@pytest.mark.redis
def test_threads_counting_at_once_lose_no_count(server, frozen):
    threads, each, rate = 8, 25, 99
    allowed: list[bool] = []
    lock = threading.Lock()
    start = threading.Barrier(threads)

    def count() -> None:
        start.wait(timeout=10)
        # Each thread has its own cache connection, as each web worker thread does.
        results = [throttled() for _ in range(each)]
        with lock:
            allowed.extend(results)

    with override_settings(REST_FRAMEWORK=with_rates(public=f"{rate}/min")):
        workers = [threading.Thread(target=count) for _ in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=30)
        key = cache.make_and_validate_key(window_key("public"))

    assert len(allowed) == threads * each
    assert sum(allowed) == rate  # exactly the rate let in: every increment was seen once
    assert server.get(key) == str(threads * each).encode()


@pytest.mark.redis
def test_a_worker_counts_a_fiftieth_of_the_rate_at_once_and_serves_exactly_the_rate(
    server, frozen, monkeypatch
):
    with override_settings(REST_FRAMEWORK=with_rates(public="500/min")):
        assert PublicRateThrottle().reservation() == 10
        assert throttled()  # opens the connection (its handshake is not the throttle's cost)
        forget_reservations()
        server.flushdb()
        round_trips = RoundTrips(monkeypatch)
        allowed = [throttled() for _ in range(600)]
        key = cache.make_and_validate_key(window_key("public"))

    assert allowed == [True] * 500 + [False] * 100
    # 50 round trips of 10 for the 500 served, then one per refused request.
    assert round_trips.count == 150
    assert server.get(key) == str(150 * 10).encode()


@pytest.mark.redis
def test_threads_sharing_a_worker_s_reservations_serve_exactly_the_rate(server, frozen):
    threads, each, rate = 8, 25, 120
    allowed: list[bool] = []
    lock = threading.Lock()
    start = threading.Barrier(threads)

    def count() -> None:
        start.wait(timeout=10)
        results = [throttled() for _ in range(each)]
        with lock:
            allowed.extend(results)

    with override_settings(REST_FRAMEWORK=with_rates(public=f"{rate}/min")):
        assert PublicRateThrottle().reservation() == 2
        workers = [threading.Thread(target=count) for _ in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=30)

    assert (len(allowed), sum(allowed)) == (threads * each, rate)


@pytest.mark.redis
def test_failed_tokens_are_counted_in_redis_and_refused_past_the_rate(server, frozen, db, monkeypatch):
    with override_settings(REST_FRAMEWORK=with_rates(token_failures="3/min")):
        client = Client()
        assert client.get(TOKEN_URL, REMOTE_ADDR=ADDRESS, HTTP_AUTHORIZATION=BAD_TOKEN).status_code == 401
        round_trips = RoundTrips(monkeypatch)
        statuses = [
            client.get(TOKEN_URL, REMOTE_ADDR=ADDRESS, HTTP_AUTHORIZATION=BAD_TOKEN).status_code
            for _ in range(3)
        ]
        sent = round_trips.count

        assert cache.get(window_key("token_failures")) == 3
    assert statuses == [401, 401, 429]
    # A failure: one read (is the address blocked?) and one count; a refusal: the read alone.
    assert sent == 2 + 2 + 1


def test_with_redis_unreachable_requests_are_allowed_and_a_warning_logged(frozen, db, caplog):
    # A loopback port nothing listens on: every connection is refused at once.
    nowhere = f"redis://127.0.0.1:{free_port()}/0"
    rates = with_rates(public="1/min", token_failures="1/min")
    with override_settings(CACHES=redis_caches(nowhere), REST_FRAMEWORK=rates):
        caplog.set_level(logging.WARNING, logger="opsite.core.api.throttling")
        statuses = [Client().get(PUBLIC_URL, REMOTE_ADDR=ADDRESS).status_code for _ in range(3)]
        failures = [
            Client().get(TOKEN_URL, REMOTE_ADDR=ADDRESS, HTTP_AUTHORIZATION=BAD_TOKEN).status_code
            for _ in range(3)
        ]

    assert statuses == [200, 200, 200]
    assert failures == [401, 401, 401]
    messages = {record.getMessage() for record in caplog.records}
    assert {
        "public API throttle: cache unavailable, request allowed",
        "token failure throttle: cache unavailable, request allowed",
        "token failure throttle: cache unavailable, failure not counted",
    } <= messages
