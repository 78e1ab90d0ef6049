"""The project's URLs plus ``/bench/trivial/``: the baseline of ``bench/api.py``, served by the same
gunicorn workers, in the same processes, through the same middleware as the API it is compared to.

The project's patterns are listed as they are, not included under a prefix, so the API's routes
resolve through exactly as many levels as in production.
"""

from django.http import HttpRequest, JsonResponse
from django.urls import path

from opsite.urls import urlpatterns as project_urlpatterns


def trivial(request: HttpRequest) -> JsonResponse:
    """The least a Django JSON view can do: no database, no DRF."""
    return JsonResponse({"ok": True})


urlpatterns = [path("bench/trivial/", trivial), *project_urlpatterns]
