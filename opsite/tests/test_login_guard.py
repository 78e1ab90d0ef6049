"""The login guard (django-axes, opsite/settings/base.py): failed admin logins lock a username out at
one client address, with the site's own 429 page, and nobody else.

The admin login is the site's only password form (the dashboard signs in through it; the API has
tokens, throttled in test_token_throttle.py). Every request here goes through the real form view.
"""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.http import HttpRequest
from django.test import Client, override_settings

from opsite.core.api.throttling import client_address

LOGIN = "/admin/login/?next=/admin/"
OFFICE = "198.51.100.7"  # the team's NAT
ELSEWHERE = "203.0.113.50"
LIMIT = settings.AXES_FAILURE_LIMIT
COOL_OFF = settings.AXES_COOLOFF_TIME
START = dt.datetime(2025, 3, 3, 9, 0, tzinfo=dt.UTC)


def attempt(username: str, password: str, address: str = OFFICE, client: Client | None = None, **extra):
    client = client or Client()
    response = client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address, **extra)
    return response, client


def logged_in(client: Client) -> bool:
    return SESSION_KEY in client.session


def fail(username: str, times: int, address: str = OFFICE, **extra) -> list[int]:
    return [attempt(username, "wrong", address, **extra)[0].status_code for _ in range(times)]


def assert_lockout_page(response) -> None:
    assert response.status_code == 429
    assert response["Retry-After"] == str(int(COOL_OFF.total_seconds()))
    # The login form was rendered first (the view does not know of the guard); the page sent is ours.
    assert "lockout.html" in [t.name for t in response.templates]
    assert 'class="notice-page"' in response.content.decode()
    text = response.content.decode()
    assert "Sign-in paused" in text and f"Wait {int(COOL_OFF.total_seconds() // 60)} minutes" in text
    assert "Traceback" not in text and "axes" not in text.lower()


def test_the_defaults_are_a_combination_of_username_and_address_five_tries_fifteen_minutes():
    assert settings.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]
    assert settings.AXES_FAILURE_LIMIT == 5
    assert settings.AXES_COOLOFF_TIME.total_seconds() == 15 * 60
    assert settings.MIDDLEWARE[-1] == "axes.middleware.AxesMiddleware"


def test_the_limit_th_failure_locks_the_username_out_at_that_address_even_with_the_right_password(
    superuser,
):
    with time_machine.travel(START, tick=False):
        assert fail("root", LIMIT - 1) == [200] * (LIMIT - 1)  # the form again, with its error
        response, _ = attempt("root", "wrong")
        assert_lockout_page(response)

        response, client = attempt("root", "pw-root")
        assert_lockout_page(response)
        assert not logged_in(client)


def test_a_colleague_at_the_same_address_and_the_same_user_elsewhere_still_sign_in(superuser, finance_user):
    with time_machine.travel(START, tick=False):
        fail("root", LIMIT)
        response, client = attempt("fin", "pw-fin", OFFICE)  # same NAT, another username
        assert response.status_code == 302 and logged_in(client)
        response, client = attempt("root", "pw-root", ELSEWHERE)  # same username, another address
        assert response.status_code == 302 and logged_in(client)


def test_a_success_below_the_limit_clears_the_count(superuser):
    with time_machine.travel(START, tick=False):
        fail("root", LIMIT - 1)
        response, client = attempt("root", "pw-root")
        assert response.status_code == 302 and logged_in(client)
        assert not AccessAttempt.objects.filter(username="root").exists()
        # A fresh count: the limit's worth of failures again before a lockout.
        assert fail("root", LIMIT - 1) == [200] * (LIMIT - 1)
        assert attempt("root", "pw-root")[0].status_code == 302


def test_the_cool_off_ends_the_lockout_and_a_try_during_it_starts_it_again(superuser):
    with time_machine.travel(START, tick=False) as clock:
        fail("root", LIMIT)
        clock.shift(COOL_OFF / 2)
        assert_lockout_page(attempt("root", "pw-root")[0])  # a try during the cool-off: it restarts
        clock.shift(COOL_OFF / 2 + dt.timedelta(minutes=1))
        assert_lockout_page(attempt("root", "pw-root")[0])  # 16 min after the first, 8.5 after the last
        clock.shift(COOL_OFF + dt.timedelta(seconds=1))
        response, client = attempt("root", "pw-root")
        assert response.status_code == 302 and logged_in(client)


def test_the_lockout_page_is_the_same_for_an_existing_and_a_missing_username(superuser):
    with time_machine.travel(START, tick=False):
        fail("root", LIMIT - 1)
        fail("nobody-Zq9", LIMIT - 1)
        existing = attempt("root", "wrong")[0]
        missing = attempt("nobody-Zq9", "wrong")[0]
    assert_lockout_page(existing)
    assert_lockout_page(missing)
    assert existing.content == missing.content
    assert b"nobody-Zq9" not in missing.content


def test_a_forged_forwarded_header_does_not_move_a_client_to_a_fresh_count(superuser):
    # No proxy in front (OPSITE_NUM_PROXIES=0): X-Forwarded-For is the client's own word.
    with time_machine.travel(START, tick=False):
        for n in range(LIMIT):
            attempt("root", "wrong", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")
        assert_lockout_page(attempt("root", "pw-root", HTTP_X_FORWARDED_FOR="192.0.2.99")[0])


def test_behind_a_proxy_the_address_is_the_one_the_proxy_saw(superuser):
    rest = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    proxy = "10.0.0.2"
    with override_settings(REST_FRAMEWORK=rest), time_machine.travel(START, tick=False):
        for _ in range(LIMIT):
            attempt("root", "wrong", proxy, HTTP_X_FORWARDED_FOR=f"forged, {OFFICE}")
        assert_lockout_page(attempt("root", "pw-root", proxy, HTTP_X_FORWARDED_FOR=OFFICE)[0])
        response, client = attempt("root", "pw-root", proxy, HTTP_X_FORWARDED_FOR=ELSEWHERE)
        assert response.status_code == 302 and logged_in(client)
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {OFFICE}


def test_an_ipv6_client_is_counted_by_its_slash_64(superuser):
    with time_machine.travel(START, tick=False):
        for n in range(LIMIT):
            attempt("root", "wrong", f"2001:db8:1:2::{n + 1:x}")  # one machine, new addresses
        assert_lockout_page(attempt("root", "pw-root", "2001:db8:1:2:ffff::1")[0])
        response, client = attempt("root", "pw-root", "2001:db8:1:3::1")  # another network
        assert response.status_code == 302 and logged_in(client)


@pytest.mark.parametrize(
    ("remote", "forwarded", "expected"),
    [
        ("192.0.2.1", None, "192.0.2.1"),
        ("::ffff:192.0.2.1", None, "192.0.2.1"),
        ("2001:db8:1:2:3:4:5:6", None, "2001:db8:1:2::"),
        ("2001:DB8:1:2::1", None, "2001:db8:1:2::"),
        ("not-an-address", None, None),
        ("", None, None),
        ("192.0.2.1", "198.51.100.1", "192.0.2.1"),  # no proxy: the header is ignored
    ],
)
def test_client_address(remote, forwarded, expected):
    request = HttpRequest()
    request.META["REMOTE_ADDR"] = remote
    if forwarded:
        request.META["HTTP_X_FORWARDED_FOR"] = forwarded
    assert client_address(request) == expected


# Malformed logins: each must answer the form (200), never a 500, and never sign anyone in. Each
# from its own address, so no lockout hides what the form says.
MALFORMED = [
    {"username": "", "password": ""},
    {"username": "root"},
    {"password": "pw-root"},
    {"username": "root\x00", "password": "pw-root"},
    {"username": "ro\x00ot", "password": "x\x00"},
    {"username": "r" * 10_000, "password": "pw-root"},
    {"username": "root", "password": "p" * 100_000},
    {"username": "ｒｏｏｔ", "password": "wrong"},  # fullwidth letters (Django reads them as NFKC "root")
    {"username": "root\u200b", "password": "pw-root"},  # zero-width space
    "username=%ED%A0%80&password=pw-root",  # a UTF-16 surrogate, encoded as UTF-8 never allows
    "username=%FF%FE&password=%C0%AF",  # bytes that are no UTF-8 at all
    "username=root&username=root&password=pw-root&password=wrong",
    {"username": "' OR 1=1 --", "password": "' OR 1=1 --"},
    {"username": "<script>alert(1)</script>", "password": "x"},
    {"username": ["root", "other"], "password": "pw-root"},
    {"username": "ROOT", "password": "pw-root"},
    {"username": " root ", "password": "wrong"},  # the form strips the spaces
]


@pytest.mark.parametrize("number", range(len(MALFORMED)))
def test_a_malformed_login_answers_the_form_never_a_500(superuser, number):
    client = Client(raise_request_exception=False)
    data = MALFORMED[number]
    content_type = {"content_type": "application/x-www-form-urlencoded"} if isinstance(data, str) else {}
    response = client.post(LOGIN, data, REMOTE_ADDR=f"192.0.2.{number + 1}", **content_type)
    assert response.status_code == 200, response.content[:300]
    assert b"Traceback" not in response.content
    assert not logged_in(client)
    assert AccessAttempt.objects.filter(failures_since_start__gt=1).count() == 0


def test_a_username_longer_than_axes_column_is_counted_cut_to_it(superuser):
    # PostgreSQL refuses a value longer than the column (a 500); the count works on the cut name.
    with time_machine.travel(START, tick=False):
        assert fail("r" * 10_000, LIMIT - 1) == [200] * (LIMIT - 1)
        assert_lockout_page(attempt("r" * 300, "wrong")[0])
    assert list(AccessAttempt.objects.values_list("username", flat=True)) == ["r" * 255]


def test_a_client_address_that_is_no_address_is_counted_without_one(superuser):
    # One proxy configured, none there: the forwarded header's only entry is the client's word.
    rest = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    with override_settings(REST_FRAMEWORK=rest), time_machine.travel(START, tick=False):
        assert fail("root", LIMIT - 1, HTTP_X_FORWARDED_FOR="forged") == [200] * (LIMIT - 1)
        assert_lockout_page(attempt("root", "wrong", HTTP_X_FORWARDED_FOR="a:b:c")[0])
    assert list(AccessAttempt.objects.values_list("ip_address", flat=True)) == [None]


def test_a_failed_login_costs_a_bounded_number_of_queries(superuser, django_assert_max_num_queries):
    with django_assert_max_num_queries(10):
        assert attempt("root", "wrong")[0].status_code == 200


def test_the_test_clients_login_needs_a_request_force_login_does_not(superuser):
    # django-axes checks the address of every authentication: Client.login() must pass a request
    # (a test that only needs a signed-in user uses force_login, as the suite's fixtures do).
    with pytest.raises(ValueError, match="request"):
        Client().login(username="root", password="pw-root")
    request = HttpRequest()
    request.META["REMOTE_ADDR"] = OFFICE
    client = Client()
    assert client.login(request=request, username="root", password="pw-root")
    assert client.get("/admin/").status_code == 200
