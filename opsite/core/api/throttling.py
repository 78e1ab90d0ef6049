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

On Django's ``RedisCache`` (production) the step is one round trip to Redis: a script run by
``EVALSHA`` increments the key and gives a new one its time to live. Django's own ``incr`` would
take two (``EXISTS``, then ``INCR``) on every public request. And a worker counts a client's
public requests a few at a time (a fiftieth of the rate, at most 32): the next ones are let in
without a round trip while they last (:meth:`PublicRateThrottle.allow_request`). Any other cache (the embedded default's and
the tests' local memory) counts with the cache API's ``incr``, and ``add`` to open a window.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import threading
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.core.cache import cache as default_cache
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.core.signals import setting_changed
from django.dispatch import receiver
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

    def reservation(self) -> int:
        """How many requests a worker counts at once: 1/:data:`RESERVE_SHARE` of the rate, at
        least 1 (an exact count), at most :data:`MAX_RESERVED`."""
        return max(1, min(MAX_RESERVED, self.num_requests // RESERVE_SHARE))

    def allow_request(self, request: HttpRequest | Request, view: APIView) -> bool:
        """Whether the client may have one more request this window; counted in the cache.

        A worker counts a few requests at once (:meth:`reservation`) and lets the client's next
        ones in without asking the cache again, while they last and the window holds. The cache's
        count is then ahead of what was served, never behind; each worker serves at most its
        reservation less one beyond the rate, and only while what it reserved lasts.
        """
        if self.rate is None:
            return True
        self.now = self.timer()
        window = int(self.now // self.duration)
        self.window_ends_at = (window + 1) * self.duration
        key = f"{self.get_cache_key(request, view)}:{window}"
        with _reserved_lock:
            left = _reserved.pop(key, 0)
            if left > 0:
                if left > 1:
                    _reserved[key] = left - 1
                return True
        size = self.reservation()
        try:
            count = self._count(key, by=size)
        except Exception:
            # The cache is down (Redis unreachable): serve rather than fail a public, cacheable,
            # read-only request. The cache client's timeouts bound how long this took.
            logger.warning("public API throttle: cache unavailable, request allowed", exc_info=True)
            return True
        # What the client had used before this reservation, and what is left of the rate.
        granted = min(size, self.num_requests - (count - size))
        if granted <= 0:
            return False
        if granted > 1:
            with _reserved_lock:
                if len(_reserved) >= MAX_RESERVATIONS:
                    _forget_reservations(window=window)
                # Another thread of this worker may have reserved meanwhile: add to what it left.
                _reserved[key] = _reserved.get(key, 0) + granted - 1
        return True

    def _count(self, key: str, *, by: int = 1) -> int:
        """Add ``by`` requests to the window's counter; the count so far, those included.

        The key outlives the window by a second, so a clock a little behind the cache server's
        never counts into a key that already expired.
        """
        redis = _redis_cache(self.cache)
        if redis is not None:
            return _count_in_redis(redis, key, timeout=self.duration + 1, by=by)
        return self._count_in_cache(key, by=by)

    def _count_in_cache(self, key: str, *, by: int = 1) -> int:
        """:meth:`_count` through the cache API, for a cache other than Redis."""
        try:
            # The common case: the window's counter exists.
            return self.cache.incr(key, by)
        except ValueError:
            pass
        # The window's first request.
        if self.cache.add(key, by, timeout=self.duration + 1):
            return by
        # Another worker opened the window in between.
        return self.cache.incr(key, by)

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


# A worker counts a client's requests in the cache this many at a time, as a share of the rate
# (1/50: 2 at the default 120 a minute), and never more than MAX_RESERVED: the round trip to the
# cache is most of what a cached public answer costs, and the rate is a guard, not an invoice.
RESERVE_SHARE = 50
MAX_RESERVED = 32
# Requests counted and not served yet, by window key, in this worker; bounded.
MAX_RESERVATIONS = 4096
_reserved: dict[str, int] = {}
_reserved_lock = threading.Lock()


def _forget_reservations(*, window: int) -> None:
    """Drop the reservations of windows before ``window`` (all of them if none is older)."""
    stale = [key for key in _reserved if int(key.rsplit(":", 1)[1]) < window]
    for key in stale or list(_reserved):
        del _reserved[key]


@receiver(setting_changed)
def forget_reservations(**kwargs: Any) -> None:
    """Drop every reservation of this worker (a changed rate; a test's fresh cache)."""
    with _reserved_lock:
        _reserved.clear()


# Run by Redis itself, atomically: no other client's command runs in between, so the key cannot
# expire between the two steps and be made again without a time to live.
_COUNT_SCRIPT = """
local count = redis.call('INCRBY', KEYS[1], ARGV[2])
if count == tonumber(ARGV[2]) then
    redis.call('EXPIRE', KEYS[1], ARGV[1])
end
return count
"""
# One counting script per connection pool, bound to a client of its own (see _count_in_redis).
_scripts: dict[int, Any] = {}


def _count_in_redis(cache: RedisCache, key: str, *, timeout: int, by: int = 1) -> int:
    """Add ``by`` to the counter ``key`` of ``cache``, creating it with ``timeout`` seconds to live:
    the count.

    One round trip: ``EVALSHA`` of a script that increments the key and, when it was just made,
    sets its time to live (redis-py loads the script once per server, on its first ``NOSCRIPT``).
    The key is the one the cache API would use (``make_and_validate_key``:
    prefix and version), and the counter an integer, which Django's Redis serializer stores as
    such: ``cache.get(key)`` reads it back.
    """
    full_key = cache.make_and_validate_key(key)
    # Django's ``get_client`` builds a new ``redis.Redis`` around the pool on every call, copying
    # its table of response callbacks: more CPU than the rest of a cached public answer. The
    # client is thread-safe; one is kept per pool, with the script registered on it.
    backend = cache._cache
    pool = backend._get_connection_pool(write=True)
    script = _scripts.get(id(pool))
    if script is None or script.registered_client.connection_pool is not pool:
        script = _scripts[id(pool)] = backend._client(connection_pool=pool).register_script(_COUNT_SCRIPT)
    return int(script(keys=[full_key], args=[timeout, by]))


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
