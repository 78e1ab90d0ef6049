"""Routes of the staff API, mounted at ``/api/v1/staff/``."""

from rest_framework.routers import DefaultRouter

from . import viewsets

app_name = "staff-api"

router = DefaultRouter()
router.register("members", viewsets.StaffMemberViewSet, basename="member")
router.register("compensation", viewsets.CompensationViewSet, basename="compensation")

urlpatterns = router.urls
