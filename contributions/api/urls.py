"""Routes of the contributions API, mounted at ``/api/v1/contributions/``."""

from rest_framework.routers import DefaultRouter

from . import viewsets

app_name = "contributions-api"

router = DefaultRouter()
router.register("upstream-communities", viewsets.UpstreamCommunityViewSet, basename="upstream-community")
router.register("repositories", viewsets.RepositoryViewSet, basename="repository")
router.register("pull-requests", viewsets.PullRequestViewSet, basename="pull-request")
router.register("sync-runs", viewsets.SyncRunViewSet, basename="sync-run")

urlpatterns = router.urls
