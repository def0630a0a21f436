from django.apps import AppConfig


class ChatConfig(AppConfig):
    """Conversations and the grounded answer loop (issue: grounded chat)."""

    name = "chat"

    def ready(self):
        from chat.conversations.erasure import on_erased
        from tenants.erasure import erased

        erased.connect(on_erased, dispatch_uid="chat.conversations.erasure")
