"""Routes of the contracts API, mounted at ``/api/v1/contracts/``."""

from rest_framework.routers import DefaultRouter

from . import viewsets

app_name = "contracts-api"

router = DefaultRouter()
router.register("contracts", viewsets.ServiceContractViewSet, basename="contract")
router.register("payments", viewsets.ContractPaymentViewSet, basename="payment")
router.register("usage-fee-schedules", viewsets.UsageFeeScheduleViewSet, basename="usage-fee-schedule")
router.register("usage-fee-tiers", viewsets.UsageFeeTierViewSet, basename="usage-fee-tier")

urlpatterns = router.urls
