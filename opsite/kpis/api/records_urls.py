"""Routes of the impact-story records API, mounted at ``/api/v1/kpis/``."""

from rest_framework.routers import DefaultRouter

from . import viewsets

app_name = "kpis-api"

router = DefaultRouter()
router.register("impact-stories", viewsets.ImpactStoryViewSet, basename="impact-story")

urlpatterns = router.urls
