"""What chat deletes when something it drew on is deleted or withdrawn from training (tenants.erasure)."""

from chat.models import Citation, Conversation, Feedback, MemoryFact, Message, Preference, Trace, TrainingExport
from tenants.accounts.models import User


def _exports_drawing_on(field: str, ids: list[str]) -> dict:
    deleted, _ = TrainingExport.objects.filter(**{f"{field}__overlap": ids}).delete()
    return {"training_exports": deleted}


def _document(ids: list[str]) -> dict:
    """Copies of the document's text: citation quotes, and traces of answers it was context for."""
    citations, _ = Citation.objects.filter(document_id__in=ids).delete()
    traces, _ = Trace.objects.filter(message__context_documents__overlap=ids).delete()
    return {"citations": citations, "traces": traces, **_exports_drawing_on("document_ids", ids)}


def _user(ids: list[str]) -> dict:
    users = User.objects.filter(public_id__in=ids)
    conversations = Conversation.objects.filter(user__in=users)
    messages = Message.objects.filter(conversation__in=conversations)
    counts = {
        "conversations": conversations.count(),
        "messages": messages.count(),
        "traces": Trace.objects.filter(message__in=messages).count(),
        "feedback": Feedback.objects.filter(user__in=users).count(),
        "preferences": Preference.objects.filter(user__in=users).count(),
        "memory_facts": MemoryFact.objects.filter(user__in=users).count(),
        **_exports_drawing_on("user_ids", ids),
    }
    Feedback.objects.filter(user__in=users).delete()
    Preference.objects.filter(user__in=users).delete()
    MemoryFact.objects.filter(user__in=users).delete()
    conversations.delete()
    return counts


def _all_exports(_ids: list[str]) -> dict:
    deleted, _ = TrainingExport.objects.all().delete()
    return {"training_exports": deleted}


HANDLERS = {
    "document": _document,
    "document_no_train": lambda ids: _exports_drawing_on("document_ids", ids),
    "conversation": lambda ids: _exports_drawing_on("conversation_ids", ids),
    "conversation_no_train": lambda ids: _exports_drawing_on("conversation_ids", ids),
    "user": _user,
    "user_no_train": lambda ids: _exports_drawing_on("user_ids", ids),
    "tenant_no_train": _all_exports,
}


def on_erased(sender, *, kind: str, ids: list[str], **_kwargs) -> dict:
    handler = HANDLERS.get(kind)
    return handler(ids) if handler else {}
