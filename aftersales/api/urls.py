from csp.constants import SELF, UNSAFE_INLINE
from csp.decorators import csp_update
from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView
from rest_framework.routers import SimpleRouter

from aftersales.api import (
    orders,
    schema,  # noqa: F401 - registers the authentication schemes
    settlements,
    tracking,
    views,
)
from aftersales.workflow.serializers import ORDER_NUMBER

app_name = "api"

router = SimpleRouter()
router.register("staff/cases", views.StaffCaseViewSet, basename="staff-case")
router.register("staff/compensations", views.StaffCompensationViewSet, basename="staff-compensation")

NUMBER = r"(?P<number>[A-Za-z0-9-]{1,20})"

urlpatterns = [
    path("cases/", views.CaseCreateView.as_view(), name="cases"),
    re_path(rf"^cases/{NUMBER}/$", views.CaseProgressView.as_view(), name="case"),
    re_path(rf"^cases/{NUMBER}/accept/$", views.AcceptView.as_view(), name="case-accept"),
    re_path(rf"^cases/{NUMBER}/decline/$", views.DeclineView.as_view(), name="case-decline"),
    re_path(rf"^cases/{NUMBER}/cancel/$", views.CancelView.as_view(), name="case-cancel"),
    re_path(rf"^cases/{NUMBER}/appeal/$", views.AppealView.as_view(), name="case-appeal"),
    re_path(rf"^cases/{NUMBER}/rating/$", views.RatingView.as_view(), name="case-rating"),
    re_path(rf"^cases/{NUMBER}/return-shipment/$", views.ReturnShipmentView.as_view(), name="case-return-shipment"),
    re_path(rf"^cases/{NUMBER}/evidence/$", views.EvidenceView.as_view(), name="case-evidence"),
    re_path(rf"^cases/{NUMBER}/confirm-receipt/$", views.ConfirmReceiptView.as_view(), name="case-confirm-receipt"),
    re_path(
        rf"^cases/{NUMBER}/evidence/(?P<pk>[0-9]{{1,12}})/$",
        views.EvidenceFileView.as_view(),
        name="case-evidence-file",
    ),
    path("orders/batch/", orders.OrderBatchView.as_view(), name="orders-batch"),
    re_path(rf"^orders/(?P<number>{ORDER_NUMBER})/$", orders.OrderView.as_view(), name="order"),
    path("compensations/<int:pk>/settlement/", settlements.SettlementView.as_view(), name="compensation-settlement"),
    path("webhook/", views.WebhookView.as_view(), name="webhook"),
    path("tracking/<slug:name>/", tracking.TrackingPushView.as_view(), name="tracking-push"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # Swagger UI with its start-up script as a separate file (the Content-Security-Policy allows no inline script);
    # ReDoc starts with an inline script and renders in a worker, so its page alone allows both.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    path(
        "redoc/",
        csp_update({"script-src": [UNSAFE_INLINE], "worker-src": [SELF, "blob:"]})(
            SpectacularRedocView.as_view(url_name="api:schema")
        ),
        name="redoc",
    ),
    *router.urls,
    re_path(r"^", views.not_found),  # last: an unknown API path answers in JSON too
]
