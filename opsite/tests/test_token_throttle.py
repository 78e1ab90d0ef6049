"""Failed API token authentications are throttled per client address (opsite.core.api.throttling).

Past the ``token_failures`` rate an address gets 429 with ``Retry-After`` for the rest of the
window, without its token being looked up; signed-in browsers and callers without a token header
are never counted. Time is frozen inside a window, so a test never straddles two.
"""

from __future__ import annotations

import datetime as dt
from unittest import mock

import pytest
import time_machine
from django.conf import settings
from django.core.cache import cache
from django.test import Client, override_settings
from rest_framework.authtoken.models import Token

from opsite.core.api.throttling import FailedTokenThrottle

URL = "/api/v1/communities/communities/"
RATE = 3
ADDRESS = "198.51.100.7"
OTHER = "203.0.113.50"
# 12:00:10 UTC: 50 seconds of the minute's window left.
START = dt.datetime(2025, 3, 3, 12, 0, 10, tzinfo=dt.UTC)
BAD = "Token " + "0" * 40


@pytest.fixture(autouse=True)
def small_rate():
    rest = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "token_failures": f"{RATE}/min",
        },
    }
    cache.clear()
    with override_settings(REST_FRAMEWORK=rest), time_machine.travel(START, tick=False) as clock:
        yield clock
    cache.clear()


@pytest.fixture
def token(operations_user) -> str:
    return "Token " + Token.objects.create(user=operations_user).key


def get(authorization: str | None = None, address: str = ADDRESS, client: Client | None = None):
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization is not None else {}
    return (client or Client()).get(URL, REMOTE_ADDR=address, **headers)


def test_the_default_rate_is_twenty_failures_a_minute_and_the_token_check_is_the_throttled_one():
    from opsite.settings import base

    assert base.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["token_failures"] == "20/min"
    assert base.REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"][0] == (
        "opsite.core.api.throttling.ThrottledTokenAuthentication"
    )


def test_past_the_rate_an_address_gets_429_with_retry_after_and_no_token_lookup(
    db, token, django_assert_num_queries
):
    assert [get(BAD).status_code for _ in range(RATE)] == [401] * RATE
    with django_assert_num_queries(0):
        response = get(BAD)
    assert response.status_code == 429
    assert response["Retry-After"] == "50"
    assert response.json() == {
        "detail": "Too many failed token authentications from this address. Expected available in 50 seconds."
    }
    # A good token from that address waits too: the token is not looked up at all meanwhile.
    assert get(token).status_code == 429
    # Another address is not concerned.
    assert get(token, OTHER).status_code == 200
    assert get(BAD, OTHER).status_code == 401


def test_the_next_window_starts_afresh(db, token, small_rate):
    for _ in range(RATE + 2):
        get(BAD)
    assert get(token).status_code == 429
    small_rate.shift(50)
    assert get(token).status_code == 200
    assert [get(BAD).status_code for _ in range(RATE + 1)] == [401] * RATE + [429]


def test_signed_in_browsers_and_callers_without_a_token_are_neither_counted_nor_refused(
    db, operations_client
):
    for _ in range(RATE + 2):
        assert get().status_code == 401  # no credentials at all: not a failed token
    assert get(BAD).status_code == 401  # so the address has its whole allowance left
    for _ in range(RATE):
        get(BAD)
    assert get(BAD).status_code == 429
    assert get(client=operations_client).status_code == 200  # a session, same address


def test_a_good_token_costs_one_cache_read_and_a_request_without_one_none(db, token):
    with mock.patch.object(FailedTokenThrottle, "cache") as spy:
        spy.get.return_value = 0
        assert get(token).status_code == 200
        assert [call[0] for call in spy.method_calls] == ["get"]
        spy.reset_mock()
        assert get().status_code == 401
        assert get("Bearer x").status_code == 401  # another scheme: not ours to count
        assert spy.method_calls == []


def test_a_cache_that_is_down_refuses_nobody(db, token):
    broken = mock.Mock(**{"get.side_effect": ConnectionError, "incr.side_effect": ConnectionError})
    with mock.patch.object(FailedTokenThrottle, "cache", broken):
        assert [get(BAD).status_code for _ in range(RATE + 2)] == [401] * (RATE + 2)
        assert get(token).status_code == 200


def test_behind_a_proxy_the_forwarded_address_is_counted(db, token):
    rest = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    proxy = "10.0.0.2"

    def through_proxy(authorization: str, forwarded: str):
        return Client().get(
            URL, REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=forwarded, HTTP_AUTHORIZATION=authorization
        )

    with override_settings(REST_FRAMEWORK=rest):
        for n in range(RATE):
            through_proxy(BAD, f"forged-{n}, {ADDRESS}")  # the client's own entries are not read
        assert through_proxy(token, ADDRESS).status_code == 429
        assert through_proxy(token, OTHER).status_code == 200


def test_an_ipv6_client_is_counted_by_its_slash_64(db, token):
    for n in range(RATE):
        get(BAD, f"2001:db8:1:2::{n + 1:x}")
    assert get(token, "2001:db8:1:2:ffff::1").status_code == 429
    assert get(token, "2001:db8:1:3::1").status_code == 200


# Malformed token headers: each a 401 with DRF's message and the WWW-Authenticate challenge, never
# a 500, and each counted as a failure.
MALFORMED = [
    "Token",
    "Token ",
    "Token a b",
    "Token " + "0" * 41,
    "Token " + "0" * 100_000,
    "Token \x00",  # PostgreSQL cannot even look it up: refused before the query
    "Token " + "0" * 39 + "\x00",
    "Token \x7f" + "0" * 39,
    "token " + "0" * 40,  # the keyword is case-insensitive: still a bad key
    "Token ' OR 1=1 --",
    "Token %00",
    "TOKEN" + " " * 50 + "x",
]


@pytest.mark.parametrize("number", range(len(MALFORMED)))
def test_a_malformed_token_header_is_a_401_and_counts(db, number):
    address = f"192.0.2.{number + 1}"
    response = Client(raise_request_exception=False).get(
        URL, REMOTE_ADDR=address, HTTP_AUTHORIZATION=MALFORMED[number]
    )
    assert response.status_code == 401, response.content[:300]
    assert response["WWW-Authenticate"] == "Token"
    assert "detail" in response.json()
    assert cache.get(f"throttle_token_failures_{address}:{int(START.timestamp() // 60)}") == 1


def test_a_key_no_token_can_have_costs_no_query(db, django_assert_num_queries):
    for key in ("0" * 41, "\x00", "abc\x1b[31m"):
        with django_assert_num_queries(0):
            response = Client().get(URL, REMOTE_ADDR=OTHER, HTTP_AUTHORIZATION=f"Token {key}")
        assert (response.status_code, response.json()) == (401, {"detail": "Invalid token."})


def test_a_token_that_is_not_utf_8_is_a_401(db):
    # WSGI servers hand headers over as Latin-1 text: the byte 0xFF is no UTF-8, which DRF says.
    response = Client().get(URL, REMOTE_ADDR=ADDRESS, HTTP_AUTHORIZATION="Token \u00ff")
    assert response.status_code == 401
    assert "invalid characters" in response.json()["detail"]


def test_the_schema_still_documents_token_authentication(db):
    schema = Client().get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert schema["components"]["securitySchemes"]["tokenAuth"]["in"] == "header"
