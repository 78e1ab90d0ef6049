"""Routes of the funding API at ``/api/v1/funding/``: the runway, the collection flags, the CRUD resources."""

from django.urls import path
from rest_framework.routers import DefaultRouter

from . import viewsets
from .flags import CollectionFlagsView
from .runway import RunwayRecomputeView, RunwayView

app_name = "funding-api"

router = DefaultRouter()
router.register("funders", viewsets.FunderViewSet, basename="funder")
router.register("grants", viewsets.GrantViewSet, basename="grant")
router.register("subawards", viewsets.SubawardViewSet, basename="subaward")
router.register("disbursements", viewsets.DisbursementViewSet, basename="disbursement")
router.register("subaward-payments", viewsets.SubawardPaymentViewSet, basename="subaward-payment")
router.register("cash-positions", viewsets.CashPositionViewSet, basename="cash-position")
router.register("expenses", viewsets.ExpenseViewSet, basename="expense")
router.register("budget-lines", viewsets.GrantBudgetLineViewSet, basename="budget-line")
router.register("staff-allocations", viewsets.StaffAllocationViewSet, basename="staff-allocation")
router.register("funder-reports", viewsets.FunderReportViewSet, basename="funder-report")
router.register("exchange-rates", viewsets.ExchangeRateViewSet, basename="exchange-rate")
router.register("scenarios", viewsets.ScenarioViewSet, basename="scenario")
router.register("scenario-adjustments", viewsets.ScenarioAdjustmentViewSet, basename="scenario-adjustment")
router.register("runway-snapshots", viewsets.RunwaySnapshotViewSet, basename="runway-snapshot")
router.register("runway-alerts", viewsets.RunwayAlertViewSet, basename="runway-alert")

# The runway and flags paths come first: no router pattern may ever shadow them.
urlpatterns = [
    path("runway/", RunwayView.as_view(), name="runway"),
    path("runway/recompute/", RunwayRecomputeView.as_view(), name="runway-recompute"),
    path("flags/", CollectionFlagsView.as_view(), name="flags"),
    *router.urls,
]
