"""The URL conf the public API's own schema describes (``/api/public/schema/``): its routes alone."""

from django.urls import include, path

urlpatterns = [path("api/v1/public/", include("opsite.kpis.api.urls"))]
