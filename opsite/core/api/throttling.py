"""Throttles and lockouts by client address: the public KPI API, failed tokens, failed logins.

:class:`PublicRateThrottle` limits requests to the public API. :class:`ThrottledTokenAuthentication`
answers 429 to an address that sent too many bad tokens. django-axes locks a username out at an
address after failed admin logins (opsite/settings/base.py); :func:`client_address` and
:func:`login_username` are what it counts by, and :func:`login_lockout_response` the page it shows.

How they count: DRF's ``SimpleRateThrottle`` keeps, per client, the list of its request times:
every request reads, trims and writes back a list as long as the rate (thousands of entries at a
generous rate), and two workers doing that at once lose each other's entries. The throttles here
count instead: one integer per client and window, atomic and constant in cost. A fixed window lets
a client send up to twice the rate across a window boundary; for a cached, read-only API and for
failed tokens that is an acceptable price for one cheap atomic step.

On Django's ``RedisCache`` (production) the step is one round trip to Redis: ``SET key 0 EX ttl
NX`` and ``INCR key`` sent together in a ``MULTI``/``EXEC`` block. Django's own ``incr`` would take
two (``EXISTS``, then ``INCR``) on every public request. Any other cache (the embedded default's and
the tests' local memory) counts with the cache API's ``incr``, and ``add`` to open a window.
"""

from __future__ import annotations

import ipaddress
import logging
import math
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.core.cache import cache as default_cache
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from rest_framework.authentication import TokenAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed, Throttled
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle, BaseThrottle

if TYPE_CHECKING:
    # Not at run time: DRF imports this module (an authentication class) while rest_framework.views
    # is still being imported.
    from rest_framework.views import APIView

logger = logging.getLogger(__name__)


def client_address(request: HttpRequest | Request) -> str | None:
    """The address a request is counted under, by the failed-token throttle and the login guard.

    DRF's ``get_ident``: ``REMOTE_ADDR``, or the ``X-Forwarded-For`` entry that the proxies
    ``NUM_PROXIES`` says are in front of the site added (never one the client wrote). An IPv6
    client is counted by its /64 network, written as that network's first address: one machine
    has a whole /64 to pick addresses from, and counting each one apart would give it billions of
    fresh buckets. ``None`` when that is not an IP address (no ``REMOTE_ADDR`` on a Unix socket, a
    forwarded header with fewer entries than proxies configured): django-axes stores the answer
    in an IP address column, which PostgreSQL would refuse with a 500.
    """
    try:
        address = ipaddress.ip_address(BaseThrottle().get_ident(request).strip())
    except (AttributeError, ValueError):
        return None
    if address.version == 4:
        return str(address)
    if address.ipv4_mapped is not None:  # ::ffff:192.0.2.1 is the IPv4 client 192.0.2.1
        return str(address.ipv4_mapped)
    return str(ipaddress.IPv6Network((address, 64), strict=False).network_address)


def login_username(request: HttpRequest, credentials: dict | None = None) -> str | None:
    """The username django-axes counts a login under (``AXES_USERNAME_CALLABLE``), as typed.

    Cut to the 255 characters of django-axes' column (PostgreSQL refuses a longer value with a
    500): a real username has at most 150, so a cut one never falls in a real user's count.
    """
    field = get_user_model().USERNAME_FIELD
    username = credentials.get(field) if credentials else request.POST.get(field)
    return None if username is None else str(username)[:255]


class PublicRateThrottle(AnonRateThrottle):
    """``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["public"]`` requests per client address.

    Signed-in users count like anyone else: the public API is the same for everybody, and a
    session cookie must not be a way around the limit. The client address is DRF's
    ``get_ident``: ``REMOTE_ADDR``, or the ``X-Forwarded-For`` entry the ``NUM_PROXIES`` setting
    says the proxies in front of the site added. Only headers are read, so it works on a Django
    request as well as on DRF's (the public views' fast path uses the former).
    """

    scope = "public"

    def get_rate(self) -> str | None:
        # Read when the request is throttled, not when the module was imported, so a changed
        # setting (a deployment's environment, a test's override) takes effect.
        rates = api_settings.DEFAULT_THROTTLE_RATES or {}
        return rates.get(self.scope)

    def get_cache_key(self, request: HttpRequest | Request, view: APIView) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    def allow_request(self, request: HttpRequest | Request, view: APIView) -> bool:
        if self.rate is None:
            return True
        self.now = self.timer()
        window = int(self.now // self.duration)
        self.window_ends_at = (window + 1) * self.duration
        key = f"{self.get_cache_key(request, view)}:{window}"
        try:
            count = self._count(key)
        except Exception:
            # The cache is down (Redis unreachable): serve rather than fail a public, cacheable,
            # read-only request. The cache client's timeouts bound how long this took.
            logger.warning("public API throttle: cache unavailable, request allowed", exc_info=True)
            return True
        return count <= self.num_requests

    def _count(self, key: str) -> int:
        """Add this request to the window's counter; the count so far, this one included.

        The key outlives the window by a second, so a clock a little behind the cache server's
        never counts into a key that already expired.
        """
        redis = _redis_cache(self.cache)
        if redis is not None:
            return _count_in_redis(redis, key, timeout=self.duration + 1)
        return self._count_in_cache(key)

    def _count_in_cache(self, key: str) -> int:
        """:meth:`_count` through the cache API, for a cache other than Redis."""
        try:
            # The common case: the window's counter exists.
            return self.cache.incr(key)
        except ValueError:
            pass
        # The window's first request.
        if self.cache.add(key, 1, timeout=self.duration + 1):
            return 1
        # Another worker opened the window in between.
        return self.cache.incr(key)

    def wait(self) -> float:
        """Seconds until the window closes; ``Retry-After`` is this, rounded up."""
        return max(1, math.ceil(self.window_ends_at - self.now))


def _redis_cache(cache: Any) -> RedisCache | None:
    """The Django ``RedisCache`` a throttle counts in, or None for any other cache.

    DRF's throttles hold the default cache's proxy (``django.core.cache.cache``), which is no
    ``RedisCache`` itself: the backend behind it is looked up (a dictionary read per thread).
    """
    backend = caches["default"] if cache is default_cache else cache
    return backend if isinstance(backend, RedisCache) else None


def _count_in_redis(cache: RedisCache, key: str, *, timeout: int) -> int:
    """Bump the counter ``key`` of ``cache``, creating it with ``timeout`` seconds to live: the count.

    One round trip: ``SET key 0 EX timeout NX`` then ``INCR key``, in one ``MULTI``/``EXEC``
    block, so no other client's command runs in between (the key cannot expire between the two and
    be made again without a timeout). The key is the one the cache API would use
    (``make_and_validate_key``: prefix and version), and the counter an integer, which Django's
    Redis serializer stores as such: ``cache.get(key)`` reads it back.
    """
    full_key = cache.make_and_validate_key(key)
    client = cache._cache.get_client(full_key, write=True)
    pipeline = client.pipeline(transaction=True)
    pipeline.set(full_key, 0, ex=timeout, nx=True)
    pipeline.incr(full_key)
    _, count = pipeline.execute()
    return int(count)


class FailedTokenThrottle(PublicRateThrottle):
    """``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["token_failures"]`` bad tokens per client address.

    Not a DRF view throttle (a view's throttles run after authentication, too late): the token
    authentication below asks :meth:`wait_if_blocked` before checking a token and calls
    :meth:`record_failure` when the check fails. The counter is the public throttle's: one integer
    per address and window, atomic in Redis.
    """

    scope = "token_failures"

    def get_cache_key(self, request: HttpRequest | Request, view: APIView | None = None) -> str:
        return self.cache_format % {"scope": self.scope, "ident": client_address(request) or "unknown"}

    def _window_key(self, request: HttpRequest | Request) -> str:
        self.now = self.timer()
        window = int(self.now // self.duration)
        self.window_ends_at = (window + 1) * self.duration
        return f"{self.get_cache_key(request)}:{window}"

    def wait_if_blocked(self, request: HttpRequest | Request) -> float | None:
        """Seconds to wait if this address used up its failures this window, else ``None``.

        One cache read; a cache that is down blocks nobody (tokens are 160 random bits: the
        throttle spares the database and the logs, it is not what makes tokens unguessable).
        """
        if self.rate is None:
            return None
        try:
            failures = self.cache.get(self._window_key(request), 0)
        except Exception:
            logger.warning("token failure throttle: cache unavailable, request allowed", exc_info=True)
            return None
        return self.wait() if failures >= self.num_requests else None

    def record_failure(self, request: HttpRequest | Request) -> None:
        if self.rate is None:
            return
        try:
            self._count(self._window_key(request))
        except Exception:
            logger.warning("token failure throttle: cache unavailable, failure not counted", exc_info=True)


# rest_framework.authtoken's Token.key: 40 hexadecimal characters.
TOKEN_KEY_LENGTH = 40


class ThrottledTokenAuthentication(TokenAuthentication):
    """DRF's ``Authorization: Token <key>`` check, refusing an address that sent too many bad keys.

    Past the ``token_failures`` rate, a request with a token header from that address is answered
    429 with ``Retry-After`` until the window closes, without looking the token up. A request
    without a token header (a browser's session, an anonymous caller) costs nothing here and is
    never refused by it; a request with a good token costs one cache read and is refused only while
    its address is over the rate (someone behind the same address kept sending bad tokens).
    """

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        throttle = FailedTokenThrottle()
        wait = throttle.wait_if_blocked(request)
        if wait is not None:
            # DRF adds "Expected available in N seconds." and the Retry-After header.
            raise Throttled(wait=wait, detail="Too many failed token authentications from this address.")
        try:
            return super().authenticate(request)
        except AuthenticationFailed:
            throttle.record_failure(request)
            raise

    def authenticate_credentials(self, key: str) -> tuple[Any, Any]:
        # A key no token can have is refused without a query, with DRF's words for an unknown
        # one (nothing tells the two apart). PostgreSQL would also fail the lookup of a key with
        # a NUL character in it: a 500 rather than a 401.
        if len(key) > TOKEN_KEY_LENGTH or not (key.isascii() and key.isprintable()):
            raise AuthenticationFailed("Invalid token.")
        return super().authenticate_credentials(key)


def login_lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: dict | None = None
) -> HttpResponse:
    """django-axes' answer to a locked-out login (``AXES_LOCKOUT_CALLABLE``): the site's own page.

    429 with ``Retry-After``: the cool-off restarts with every try made during it (django-axes'
    ``AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT``), so the wait is the whole cool-off from
    now. The username is not echoed, and the page says nothing of whether the account exists.
    """
    # Imported here: axes.helpers imports django-axes' models, and this kernel module may be
    # imported before the app registry is ready.
    from axes.helpers import get_cool_off

    cool_off = get_cool_off(request)
    seconds = int(cool_off.total_seconds()) if cool_off else None
    response = TemplateResponse(
        request,
        "lockout.html",
        {"minutes": math.ceil(seconds / 60) if seconds else None},
        status=429,
    )
    if seconds:
        response["Retry-After"] = str(seconds)
    return response.render()
