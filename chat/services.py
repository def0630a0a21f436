"""Writes of conversations, messages, citations and traces; content is encrypted with the tenant's key."""

import json

from django.db import transaction

from chat.models import Citation, Conversation, Message, Trace
from tenants.accounts.models import User
from tenants.crypto import encrypt_text
from tenants.models import Tenant

TITLE_LENGTH = 80


def conversation_create(*, tenant: Tenant, user: User, title: str = "") -> Conversation:
    conversation = Conversation(user=user)
    conversation.title_encrypted = encrypt_text(
        tenant=tenant, object_id=str(conversation.public_id), text=title.strip()[:TITLE_LENGTH]
    )
    conversation.save()
    return conversation


def conversation_rename(*, tenant: Tenant, conversation: Conversation, title: str) -> Conversation:
    conversation.title_encrypted = encrypt_text(
        tenant=tenant, object_id=str(conversation.public_id), text=title.strip()[:TITLE_LENGTH]
    )
    conversation.save(update_fields=["title_encrypted", "updated_at"])
    return conversation


def conversation_delete(*, conversation: Conversation) -> dict:
    messages = conversation.messages.count()
    public_id = str(conversation.public_id)
    conversation.delete()
    return {"conversation": public_id, "messages": messages}


def message_add(*, tenant: Tenant, conversation: Conversation, role: str, content: str, **fields) -> Message:
    message = Message(conversation=conversation, role=role, **fields)
    message.content_encrypted = encrypt_text(tenant=tenant, object_id=str(message.public_id), text=content)
    message.save()
    Conversation.objects.filter(pk=conversation.pk).update(updated_at=message.created_at)
    return message


def answer_store(
    *, tenant: Tenant, conversation: Conversation, content: str, status: str, error_code: str, citations, trace: dict
) -> Message:
    with transaction.atomic():
        message = message_add(
            tenant=tenant,
            conversation=conversation,
            role=Message.Role.ASSISTANT,
            content=content,
            status=status,
            error_code=error_code,
        )
        Citation.objects.bulk_create([Citation(message=message, **citation) for citation in citations])
        Trace.objects.create(
            message=message,
            data_encrypted=encrypt_text(tenant=tenant, object_id=str(message.public_id), text=json.dumps(trace)),
        )
    return message
