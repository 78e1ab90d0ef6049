"""Routes of the public API, mounted at ``/api/v1/public/`` (see :mod:`opsite.kpis.api.public`
and :mod:`opsite.kpis.api.public_kit`)."""

from django.urls import path

from .public import PublicBadgeView, PublicKpisView, PublicSeriesView
from .public_kit import MausByHubView, MausUniqueByClusterView, PublicStoriesView

app_name = "public-api"

urlpatterns = [
    path("kpis/", PublicKpisView.as_view(), name="kpis"),
    path("series/<str:metric>/", PublicSeriesView.as_view(), name="series"),
    path("badges/<str:metric>.json", PublicBadgeView.as_view(), name="badge"),
    path("stories/", PublicStoriesView.as_view(), name="stories"),
    path("data/maus-by-hub.csv", MausByHubView.as_view(), name="data-maus-by-hub"),
    path(
        "data/maus-unique-by-cluster.csv",
        MausUniqueByClusterView.as_view(),
        name="data-maus-unique-by-cluster",
    ),
]
