"""URLs of the public host (operators), or of an API request made with an operator key."""

from django.urls import include, path

from alignment import views as alignment_views
from alignment.apis import OperatorAlignmentRunDetailApi, OperatorAlignmentRunListApi
from chat.conversations.apis import OperatorTraceAccessApi
from chat.training.apis import OperatorTrainingExportApi
from config import operator_pages
from config.urls_common import health_patterns, session_patterns
from evaluation.experiment_apis import OperatorExperimentActionApi, OperatorExperimentListApi
from tenants import operator_actions
from tenants.apis import MetricsApi

urlpatterns = [
    *health_patterns,
    *session_patterns,
    path("", operator_pages.operator_console, name="operator-console"),
    path("console/tenants/", operator_actions.tenant_create, name="console-tenant-create"),
    path("console/tenants/<int:tenant_id>/suspend/", operator_actions.tenant_suspend, name="console-tenant-suspend"),
    path("console/tenants/<int:tenant_id>/resume/", operator_actions.tenant_resume, name="console-tenant-resume"),
    path("console/tenants/<int:tenant_id>/delete/", operator_actions.tenant_delete, name="console-tenant-delete"),
    path("console/tenants/<int:tenant_id>/limits/", operator_actions.tenant_limits, name="console-tenant-limits"),
    path("console/tenants/<int:tenant_id>/usage/", operator_actions.tenant_usage_refresh, name="console-tenant-usage"),
    path("console/operators/", operator_actions.operator_create, name="console-operator-create"),
    path("console/operators/<uuid:user_id>/", operator_actions.operator_update, name="console-operator-update"),
    path("system/", operator_pages.operator_system, name="operator-system"),
    path("alignment/", alignment_views.alignment_page, name="operator-alignment"),
    path("console/alignment/", alignment_views.alignment_start, name="console-alignment-start"),
    path("metrics", MetricsApi.as_view(), name="metrics"),
    path("api/v1/operator/", include("tenants.urls")),
    path("api/v1/operator/training-export/", OperatorTrainingExportApi.as_view(), name="operator-training-export"),
    path(
        "api/v1/operator/tenants/<int:tenant_id>/trace-access/",
        OperatorTraceAccessApi.as_view(),
        name="operator-trace-access",
    ),
    path(
        "api/v1/operator/tenants/<int:tenant_id>/experiments/",
        OperatorExperimentListApi.as_view(),
        name="operator-experiment-list",
    ),
    path(
        "api/v1/operator/tenants/<int:tenant_id>/alignment-runs/",
        OperatorAlignmentRunListApi.as_view(),
        name="operator-alignment-run-list",
    ),
    path(
        "api/v1/operator/tenants/<int:tenant_id>/alignment-runs/<uuid:run_id>/",
        OperatorAlignmentRunDetailApi.as_view(),
        name="operator-alignment-run-detail",
    ),
    *[
        path(
            f"api/v1/operator/tenants/<int:tenant_id>/experiments/<uuid:experiment_id>/{action}/",
            OperatorExperimentActionApi.as_view(action=action),
            name=f"operator-experiment-{action}",
        )
        for action in ("start", "promote", "stop")
    ],
]

handler404 = "config.views.not_found"
handler500 = "config.views.server_error"
