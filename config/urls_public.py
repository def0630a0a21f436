"""URLs of the public host (operators), or of an API request made with an operator key."""

from django.urls import include, path

from chat.training.apis import OperatorTrainingExportApi
from config.urls_common import health_patterns, session_patterns
from tenants import views
from tenants.apis import MetricsApi

urlpatterns = [
    *health_patterns,
    *session_patterns,
    path("", views.operator_console, name="operator-console"),
    path("metrics", MetricsApi.as_view(), name="metrics"),
    path("api/v1/operator/", include("tenants.urls")),
    path("api/v1/operator/training-export/", OperatorTrainingExportApi.as_view(), name="operator-training-export"),
]

handler404 = "config.views.not_found"
handler500 = "config.views.server_error"
