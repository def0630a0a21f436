from django.urls import path

from chat.conversations import apis
from chat.memory import apis as memory_apis
from chat.training import apis as training_apis

app_name = "chat"

urlpatterns = [
    path("conversations/", apis.ConversationListApi.as_view(), name="conversation-list"),
    path("conversations/export/", apis.ConversationExportApi.as_view(), name="conversation-export"),
    path("conversations/<uuid:conversation_id>/", apis.ConversationDetailApi.as_view(), name="conversation-detail"),
    path("conversations/<uuid:conversation_id>/messages/", apis.MessageListApi.as_view(), name="conversation-messages"),
    path("messages/<uuid:message_id>/regenerate/", apis.RegenerateApi.as_view(), name="message-regenerate"),
    path("messages/<uuid:message_id>/feedback/", apis.FeedbackApi.as_view(), name="message-feedback"),
    path("messages/<uuid:message_id>/preference/", apis.PreferenceApi.as_view(), name="message-preference"),
    path("messages/<uuid:message_id>/trace/", apis.TraceApi.as_view(), name="message-trace"),
    path("chat/settings/", apis.ChatSettingsApi.as_view(), name="chat-settings"),
    path("retention/", apis.RetentionSettingsApi.as_view(), name="retention"),
    path("memories/", memory_apis.MemoryListApi.as_view(), name="memory-list"),
    path("memories/settings/", memory_apis.MemorySettingsApi.as_view(), name="memory-settings"),
    path("memories/<uuid:fact_id>/", memory_apis.MemoryDetailApi.as_view(), name="memory-detail"),
    path("training/consent/", training_apis.TrainingConsentApi.as_view(), name="training-consent"),
    path("training/exports/", training_apis.TrainingExportListApi.as_view(), name="training-export-list"),
    path(
        "training/exports/<uuid:export_id>/",
        training_apis.TrainingExportDetailApi.as_view(),
        name="training-export-detail",
    ),
    path(
        "training/exports/<uuid:export_id>/<str:part>",
        training_apis.TrainingExportFileApi.as_view(),
        name="training-export-file",
    ),
]
