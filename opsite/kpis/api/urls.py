"""Routes of the public KPI API, mounted at ``/api/v1/public/`` (see :mod:`opsite.kpis.api.public`)."""

from django.urls import path

from .public import PublicBadgeView, PublicKpisView, PublicSeriesView

app_name = "public-api"

urlpatterns = [
    path("kpis/", PublicKpisView.as_view(), name="kpis"),
    path("series/<str:metric>/", PublicSeriesView.as_view(), name="series"),
    path("badges/<str:metric>.json", PublicBadgeView.as_view(), name="badge"),
]
