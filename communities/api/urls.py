"""Routes of the communities API, mounted at ``/api/v1/communities/``."""

from rest_framework.routers import DefaultRouter

from . import viewsets

app_name = "communities-api"

router = DefaultRouter()
router.register("networks", viewsets.NetworkViewSet, basename="network")
router.register("communities", viewsets.CommunityViewSet, basename="community")
router.register("hubs", viewsets.HubViewSet, basename="hub")
router.register("active-user-counts", viewsets.ActiveUserCountViewSet, basename="active-user-count")
router.register("prometheus-sources", viewsets.PrometheusSourceViewSet, basename="prometheus-source")
router.register("cluster-usages", viewsets.ClusterUsageViewSet, basename="cluster-usage")
router.register("cost-sources", viewsets.CostSourceViewSet, basename="cost-source")
router.register("cloud-costs", viewsets.CloudCostViewSet, basename="cloud-cost")

urlpatterns = router.urls
