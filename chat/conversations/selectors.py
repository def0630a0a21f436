"""Reads of conversations: only the owner's, decrypted with the tenant's key."""

import json

from django.http import Http404

from chat.models import Conversation, Message
from retrieval.selectors import documents_readable
from tenants.accounts.models import User
from tenants.crypto import decrypt_text
from tenants.models import Tenant


def conversation_list(*, user: User):
    return Conversation.objects.filter(user=user).order_by("-updated_at", "-id")


def conversation_get(*, user: User, public_id) -> Conversation:
    conversation = conversation_list(user=user).filter(public_id=public_id).first()
    if conversation is None:
        raise Http404
    return conversation


def conversation_title(*, tenant: Tenant, conversation: Conversation) -> str:
    return decrypt_text(tenant=tenant, object_id=str(conversation.public_id), blob=bytes(conversation.title_encrypted))


def message_content(*, tenant: Tenant, message: Message) -> str:
    return decrypt_text(tenant=tenant, object_id=str(message.public_id), blob=bytes(message.content_encrypted))


def messages_of(*, conversation: Conversation):
    return (
        conversation.messages.select_related("regenerated_from")
        .prefetch_related("citations")
        .order_by("created_at", "id")
    )


def drawn_on(message: Message) -> set:
    """The documents an answer drew on: those it cites and those its context held (a deleted document's
    citations are erased with it, but its id stays among the context documents)."""
    return {citation.document_id for citation in message.citations.all()} | set(message.context_documents or [])


def withheld_documents(*, messages, principals: list[str]) -> set:
    """Documents the messages drew on that the reader can no longer read (ACL narrowed, group left, deleted);
    for a tenant admin reading a member's trace, those the admin cannot read."""
    used = set().union(*(drawn_on(message) for message in messages)) if messages else set()
    return used - documents_readable(principals=principals, ids=used)


def history(
    *, tenant: Tenant, conversation: Conversation, principals: list[str], turns: int = 6, before=None
) -> list[dict]:
    """The last `turns` complete turns (before `before`, if given), oldest first, as chat messages; an
    answer drawn on a document the reader can no longer read is left out."""
    messages = conversation.messages.filter(
        status__in=[Message.Status.COMPLETE, Message.Status.ABSTAINED], regenerated_from__isnull=True
    ).prefetch_related("citations")
    if before is not None:
        messages = messages.filter(created_at__lt=before)
    recent = list(messages.order_by("-created_at", "-id")[:turns])
    withheld = withheld_documents(messages=recent, principals=principals)
    return [
        {"role": m.role, "content": message_content(tenant=tenant, message=m)}
        for m in reversed(recent)
        if not drawn_on(m) & withheld
    ]


def trace_of(*, tenant: Tenant, message: Message) -> dict:
    return json.loads(
        decrypt_text(tenant=tenant, object_id=str(message.public_id), blob=bytes(message.trace.data_encrypted))
    )


def answers_before(*, message: Message):
    """The conversation's earlier answers: the history a follow-up question was condensed with."""
    return (
        message.conversation.messages.filter(role=Message.Role.ASSISTANT, created_at__lt=message.created_at)
        .prefetch_related("citations")
        .order_by("created_at", "id")
    )


def message_get_for_owner(*, user: User, public_id) -> Message:
    message = (
        Message.objects.filter(public_id=public_id, conversation__user=user).select_related("conversation").first()
    )
    if message is None:
        raise Http404
    return message


def message_get_for_admin(*, public_id) -> Message:
    message = Message.objects.filter(public_id=public_id).select_related("conversation", "trace").first()
    if message is None:
        raise Http404
    return message


def question_of(*, tenant: Tenant, answer: Message) -> str:
    """The user message an answer replies to."""
    original = answer.regenerated_from or answer
    question = (
        answer.conversation.messages.filter(role=Message.Role.USER, created_at__lt=original.created_at)
        .order_by("-created_at", "-id")
        .first()
    )
    if question is None:
        raise Http404
    return message_content(tenant=tenant, message=question)
