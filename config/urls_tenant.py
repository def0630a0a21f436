"""URLs of a tenant host, or of an API request whose key belongs to a tenant."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from chat import data_pages
from chat import views as chat_views
from chat.openai_api import ChatCompletionsApi, ModelDetailApi, ModelListApi
from config.urls_common import health_patterns, session_patterns
from core.body_limit import large_body
from evaluation import experiment_pages
from ingestion import views as ingestion_views
from safety import views as safety_views
from tenants import console_actions as console
from tenants import views

urlpatterns = [
    *health_patterns,
    *session_patterns,
    path("", views.tenant_console, name="tenant-console"),
    path("dashboard/", chat_views.dashboard_page, name="tenant-dashboard"),
    path("traces/<uuid:message_id>/", chat_views.trace_page, name="trace-page"),
    path("experiments/", experiment_pages.experiments_page, name="experiments-page"),
    path("experiments/new/", experiment_pages.experiment_create, name="experiment-create"),
    path(
        "experiments/<uuid:experiment_id>/<str:action>/",
        experiment_pages.experiment_act,
        name="experiment-act",
    ),
    path("api/v1/schema/", SpectacularAPIView.as_view(permission_classes=[], authentication_classes=[]), name="schema"),
    path("api/v1/", include("tenants.accounts.urls")),
    path("api/v1/", include("ingestion.urls")),
    path("api/v1/", include("retrieval.urls")),
    path("api/v1/", include("inference.urls")),
    path("api/v1/", include("chat.urls")),
    path("api/v1/", include("evaluation.urls")),
    path("api/v1/", include("safety.urls")),
    path("api/v1/", include("alignment.urls")),
    path("v1/chat/completions", ChatCompletionsApi.as_view(), name="openai-chat-completions"),
    path("v1/models", ModelListApi.as_view(), name="openai-models"),
    path("v1/models/<str:model_id>", ModelDetailApi.as_view(), name="openai-model-detail"),
    path("console/users/", console.user_create, name="console-user-create"),
    path("console/users/<uuid:user_id>/", console.user_update, name="console-user-update"),
    path("console/users/<uuid:user_id>/erase/", console.user_erase, name="console-user-erase"),
    path("console/groups/", console.group_create, name="console-group-create"),
    path("console/groups/<uuid:group_id>/delete/", console.group_delete, name="console-group-delete"),
    path("console/groups/<uuid:group_id>/members/", console.group_member_add, name="console-group-member-add"),
    path(
        "console/groups/<uuid:group_id>/members/<uuid:user_id>/remove/",
        console.group_member_remove,
        name="console-group-member-remove",
    ),
    path("console/api-keys/", console.api_key_create, name="console-api-key-create"),
    path("console/api-keys/<uuid:key_id>/revoke/", console.api_key_revoke, name="console-api-key-revoke"),
    path("console/me/training/", console.my_training_set, name="console-my-training"),
    path("console/identity-provider/", console.identity_provider_save, name="console-identity-provider"),
    path(
        "console/identity-provider/remove/",
        console.identity_provider_remove,
        name="console-identity-provider-remove",
    ),
    path("documents/", ingestion_views.portal, name="portal"),
    path("documents/<uuid:document_id>/", ingestion_views.document_page, name="document-page"),
    path("documents/<uuid:document_id>/edit/", ingestion_views.document_edit, name="document-edit"),
    path(
        "documents/<uuid:document_id>/versions/",
        large_body(ingestion_views.document_version_upload),
        name="document-version-upload",
    ),
    path("documents/<uuid:document_id>/delete/", ingestion_views.document_delete, name="document-delete"),
    path("documents/<uuid:document_id>/reingest/", ingestion_views.document_reingest, name="document-reingest"),
    path("chat/", chat_views.chat_view, name="chat"),
    path("data/", data_pages.data_page, name="data-page"),
    path("data/memory/", data_pages.memory_switch, name="data-memory-switch"),
    path("data/memories/", data_pages.memory_add, name="data-memory-add"),
    path("data/memories/forget/", data_pages.memory_forget_all, name="data-memory-forget-all"),
    path("data/memories/<uuid:fact_id>/forget/", data_pages.memory_forget_one, name="data-memory-forget"),
    path("data/consent/", data_pages.consent_set, name="data-consent"),
    path("data/retention/", data_pages.retention_set, name="data-retention"),
    path("data/exports/", data_pages.export_create, name="data-export-create"),
    path("data/exports/<uuid:export_id>/delete/", data_pages.export_delete, name="data-export-delete"),
    path("safety/", safety_views.policy_page, name="safety-policy-page"),
]

handler404 = "config.views.not_found"
handler500 = "config.views.server_error"
