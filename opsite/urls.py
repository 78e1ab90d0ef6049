from django.contrib import admin
from django.http import HttpRequest, HttpResponseRedirect
from django.templatetags.static import static
from django.urls import include, path

from . import views

admin.site.site_header = "opsite"
admin.site.site_title = "opsite"
admin.site.index_title = "Records"


def favicon(request: HttpRequest) -> HttpResponseRedirect:
    """Browsers ask every site for /favicon.ico: the site's icon, rather than a 404 on every page."""
    return HttpResponseRedirect(static("favicon.svg"))


urlpatterns = [
    # Each person's start page: the dashboard, the records, or the sign-in page (opsite/views.py).
    path("", views.home, name="home"),
    path("favicon.ico", favicon),
    path("admin/", admin.site.urls),
    # The public KPI API (first: the busiest routes resolve soonest), the OpenAPI schema, the docs.
    path("api/", include("opsite.api.urls")),
    path("leadership/reports/", include("opsite.reports.urls")),
    path("leadership/", include("opsite.dashboard.urls")),
    path("api/v1/staff/", include("staff.api.urls")),
    path("api/v1/communities/", include("communities.api.urls")),
    path("api/v1/contributions/", include("contributions.api.urls")),
    path("api/v1/contracts/", include("contracts.api.urls")),
    path("api/v1/funding/", include("funding.api.urls")),
    path("api/v1/kpis/", include("opsite.kpis.api.records_urls")),
    # The public website kit: the live figures page and the widgets other sites embed.
    path("kpis/", include("opsite.kpis.urls")),
    path("widgets/", include("opsite.kpis.widget_urls")),
]
