from django.apps import AppConfig


class ChatConfig(AppConfig):
    """Conversations and the grounded answer loop (issue: grounded chat)."""

    name = "chat"
