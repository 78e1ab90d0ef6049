"""Project-wide API routes, mounted at ``/api/``: the public KPI API, the OpenAPI schema, the docs.

Each app's CRUD routes are mounted by ``opsite/urls.py`` at ``/api/v1/<app>/``.
"""

from django.urls import include, path

from .schema import ApiDocsView, ApiSchemaView, PublicApiDocsView, PublicApiSchemaView

urlpatterns = [
    path("v1/public/", include("opsite.kpis.api.urls")),
    # Anonymous, like the public API: the schema names fields, never values. The docs' assets
    # are served from this site (drf-spectacular-sidecar), so they work without a CDN.
    path("schema/", ApiSchemaView.as_view(), name="api-schema"),
    path("docs/", ApiDocsView.as_view(url_name="api-schema"), name="api-docs"),
    # The public API alone, for web developers.
    path("public/schema/", PublicApiSchemaView.as_view(), name="public-api-schema"),
    path("public/docs/", PublicApiDocsView.as_view(url_name="public-api-schema"), name="public-api-docs"),
]
