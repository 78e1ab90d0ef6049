"""The OpenAPI side of the API: the schema at ``/api/schema/`` and the browsable docs at
``/api/docs/``. The shapes of the public answers are in :mod:`opsite.kpis.api.schema`."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpResponse
from django.urls import get_urlconf
from django.utils import translation
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.request import Request
from rest_framework.response import Response

# Generated schemas by (API version, language, URL conf). A handful at most: past this many
# (odd ?version= or ?lang= values) a schema is generated and served without being kept.
_SCHEMAS: dict[tuple[Any, ...], dict[str, Any]] = {}
_MAX_KEPT = 8


@receiver(setting_changed)
def _forget_schemas(**kwargs: Any) -> None:
    # A test that changes the settings (the URL conf, the installed apps) must see them applied.
    _SCHEMAS.clear()


class ApiSchemaView(SpectacularAPIView):
    """The schema, generated once per process.

    It is the same for every caller (``SERVE_PUBLIC``) and changes only with a deployment, while
    generating it walks every view and serializer: a second or two of CPU that anyone may ask for,
    since the schema is public.
    """

    def _get_schema_response(self, request: Request) -> Response:
        version = self.api_version or request.version or self._get_version_parameter(request)
        # The URL conf the schema describes: the whole site's, or the public API's alone.
        urlconf = self.urlconf or get_urlconf() or settings.ROOT_URLCONF
        key = (version, translation.get_language(), str(urlconf))
        schema = _SCHEMAS.get(key)
        if schema is None:
            generator = self.generator_class(
                urlconf=self.urlconf, api_version=version, patterns=self.patterns
            )
            schema = generator.get_schema(request=request, public=self.serve_public)
            if len(_SCHEMAS) < _MAX_KEPT:
                _SCHEMAS[key] = schema
        filename = self._get_filename(request, version)
        return Response(data=schema, headers={"Content-Disposition": f'inline; filename="{filename}"'})


class ApiDocsView(SpectacularSwaggerSplitView):
    """drf-spectacular's Swagger UI page, with its assets served by this site (the sidecar).

    The split view: the page loads its start-up script from ``?script=`` rather than inlining it,
    so the docs run under the site's Content-Security-Policy (``script-src 'self'``, no inline).
    """

    def options(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponse:
        # The page renders every answer through an HTML template, and DRF's OPTIONS metadata has
        # none (a 500): answer with the allowed methods only.
        return HttpResponse(headers={"Allow": ", ".join(self.allowed_methods)})


PUBLIC_DESCRIPTION = """The organization's live figures, impact stories and data files, for any website.

No key, no sign-in, no cookies: every endpoint answers anyone, as JSON (the data files as CSV).
Answers are cacheable for five minutes (`Cache-Control: public, max-age=300`) and carry an `ETag`:
send it back in `If-None-Match` and an unchanged answer is a `304` with no body. Browsers may call
the API from the pages of the origins the site lists (CORS). Each client address has a rate
limit; past it, `429` with `Retry-After`.

Without writing code: `/widgets/kpis.js` fills `<span data-opsite-kpi="users.monthly_active">`
elements on a page, `/widgets/kpi/<metric>/` is a card to put in an iframe, and
`/api/v1/public/badges/<metric>.json` feeds a shields.io badge. `/kpis/` shows them all."""


class PublicApiSchemaView(ApiSchemaView):
    """The public API's own schema, for web developers: its endpoints alone, with examples."""

    urlconf = "opsite.kpis.api.public_urlconf"
    custom_settings = {"TITLE": "opsite public API", "DESCRIPTION": PUBLIC_DESCRIPTION}


class PublicApiDocsView(ApiDocsView):
    """Swagger UI over the public API's schema."""

    title = "opsite public API"
