"""URLs of a tenant host, or of an API request whose key belongs to a tenant."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from chat import views as chat_views
from chat.openai_api import ChatCompletionsApi, ModelDetailApi, ModelListApi
from config.urls_common import health_patterns, session_patterns
from ingestion import views as ingestion_views
from safety import views as safety_views
from tenants import views

urlpatterns = [
    *health_patterns,
    *session_patterns,
    path("", views.tenant_console, name="tenant-console"),
    path("api/v1/schema/", SpectacularAPIView.as_view(permission_classes=[], authentication_classes=[]), name="schema"),
    path("api/v1/", include("tenants.accounts.urls")),
    path("api/v1/", include("ingestion.urls")),
    path("api/v1/", include("retrieval.urls")),
    path("api/v1/", include("inference.urls")),
    path("api/v1/", include("chat.urls")),
    path("api/v1/", include("safety.urls")),
    path("v1/chat/completions", ChatCompletionsApi.as_view(), name="openai-chat-completions"),
    path("v1/models", ModelListApi.as_view(), name="openai-models"),
    path("v1/models/<str:model_id>", ModelDetailApi.as_view(), name="openai-model-detail"),
    path("documents/", ingestion_views.portal, name="portal"),
    path("chat/", chat_views.chat_view, name="chat"),
    path("safety/", safety_views.policy_page, name="safety-policy-page"),
]

handler404 = "config.views.not_found"
handler500 = "config.views.server_error"
