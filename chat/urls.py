from django.urls import path

from chat import apis

app_name = "chat"

urlpatterns = [
    path("conversations/", apis.ConversationListApi.as_view(), name="conversation-list"),
    path("conversations/<uuid:conversation_id>/", apis.ConversationDetailApi.as_view(), name="conversation-detail"),
    path("conversations/<uuid:conversation_id>/messages/", apis.MessageListApi.as_view(), name="conversation-messages"),
    path("messages/<uuid:message_id>/regenerate/", apis.RegenerateApi.as_view(), name="message-regenerate"),
    path("messages/<uuid:message_id>/feedback/", apis.FeedbackApi.as_view(), name="message-feedback"),
    path("messages/<uuid:message_id>/preference/", apis.PreferenceApi.as_view(), name="message-preference"),
    path("messages/<uuid:message_id>/trace/", apis.TraceApi.as_view(), name="message-trace"),
]
