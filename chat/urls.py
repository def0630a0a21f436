from django.urls import path

from chat import apis

app_name = "chat"

urlpatterns = [
    path("conversations/", apis.ConversationListApi.as_view(), name="conversation-list"),
    path("conversations/<uuid:conversation_id>/", apis.ConversationDetailApi.as_view(), name="conversation-detail"),
    path("conversations/<uuid:conversation_id>/messages/", apis.MessageListApi.as_view(), name="conversation-messages"),
]
