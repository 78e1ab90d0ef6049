"""Throttling of the public KPI API: requests per client address, counted in the cache.

DRF's ``SimpleRateThrottle`` keeps, per client, the list of its request times: every request reads,
trims and writes back a list as long as the rate (thousands of entries at a generous rate), and
two workers doing that at once lose each other's entries. The public API is the one part of the
site anyone can call as fast as they like, so it counts instead: one integer per client and
window, created with ``add`` and bumped with ``incr``, both atomic in Redis and constant in cost.
A fixed window lets a client send up to twice the rate across a window boundary; for a cached,
read-only API that is an acceptable price for one cheap atomic step.
"""

from __future__ import annotations

import logging
import math

from django.http import HttpRequest
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

logger = logging.getLogger(__name__)


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
        """Add this request to the window's counter; the count so far, this one included."""
        try:
            # The common case: the window's counter exists.
            return self.cache.incr(key)
        except ValueError:
            pass
        # The window's first request. The key outlives the window by a second, so a clock a little
        # behind the cache server's never counts into a key that already expired.
        if self.cache.add(key, 1, timeout=self.duration + 1):
            return 1
        # Another worker opened the window in between.
        return self.cache.incr(key)

    def wait(self) -> float:
        """Seconds until the window closes; ``Retry-After`` is this, rounded up."""
        return max(1, math.ceil(self.window_ends_at - self.now))
