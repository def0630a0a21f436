"""URLs of the public host (operators), or of an API request made with an operator key."""

from django.urls import include, path

from config.urls_common import health_patterns, session_patterns
from tenants import views

urlpatterns = [
    *health_patterns,
    *session_patterns,
    path("", views.operator_console, name="operator-console"),
    path("api/v1/operator/", include("tenants.urls")),
]

handler404 = "config.views.not_found"
handler500 = "config.views.server_error"
