"""Writes of conversations, messages, citations and traces; content is encrypted with the tenant's key."""

import json

from django.db import transaction
from django.utils import timezone

from chat.models import Citation, Conversation, Feedback, Message, Preference, Trace
from core.api import ServiceError
from tenants.accounts.audit import audit_record
from tenants.accounts.models import User
from tenants.crypto import encrypt_text
from tenants.erasure import erasure_cascade
from tenants.models import Tenant
from tenants.services import tenant_settings_change

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


@transaction.atomic
def conversation_delete(*, tenant: Tenant, conversation: Conversation, actor: User) -> dict:
    """The conversation with its messages, citations, traces, feedback and preferences, and any
    training export that drew on it. A receipt, audited."""
    messages = conversation.messages.all()
    public_id = str(conversation.public_id)
    removed = {
        "messages": messages.count(),
        "citations": Citation.objects.filter(message__in=messages).count(),
        "traces": Trace.objects.filter(message__in=messages).count(),
        "feedback": Feedback.objects.filter(message__in=messages).count(),
        "preferences": Preference.objects.filter(chosen__in=messages).count(),
        **erasure_cascade(tenant=tenant, kind="conversation", ids=[public_id]),
    }
    conversation.delete()
    receipt = {"conversation": public_id, "deleted_at": timezone.now().isoformat(), "removed": removed}
    audit_record(
        action="conversation.deleted", actor=actor, target_type="conversation", target_id=public_id, detail=receipt
    )
    return receipt


@transaction.atomic
def conversation_no_train_set(*, tenant: Tenant, conversation: Conversation, no_train: bool, actor: User) -> dict:
    """Keep a conversation out of training exports; stored exports that drew on it go."""
    removed = {}
    if no_train != conversation.no_train:
        if no_train:
            removed = erasure_cascade(tenant=tenant, kind="conversation_no_train", ids=[conversation.public_id])
        conversation.no_train = no_train
        conversation.save(update_fields=["no_train"])
        audit_record(
            action="conversation.no_train_changed",
            actor=actor,
            target_type="conversation",
            target_id=str(conversation.public_id),
            detail={"to": no_train, "removed": removed},
        )
    return removed


def message_add(*, tenant: Tenant, conversation: Conversation, role: str, content: str, **fields) -> Message:
    message = Message(conversation=conversation, role=role, **fields)
    message.content_encrypted = encrypt_text(tenant=tenant, object_id=str(message.public_id), text=content)
    message.save()
    Conversation.objects.filter(pk=conversation.pk).update(updated_at=message.created_at)
    return message


def answer_store(
    *,
    tenant: Tenant,
    conversation: Conversation,
    content: str,
    status: str,
    error_code: str,
    citations,
    trace: dict,
    context_documents: list | None,  # None: the context held more than documents (see Answer.context_private)
    regenerated_from: Message | None = None,
    moderation: tuple[str, str] = ("", ""),  # (action, category) of the most severe decision, if not "allow"
    experiment_arm: tuple | None = None,  # (experiment, "control" | "treatment")
    sizes: dict | None = None,  # first_token_ms, total_tokens
) -> Message:
    with transaction.atomic():
        message = message_add(
            tenant=tenant,
            conversation=conversation,
            role=Message.Role.ASSISTANT,
            content=content,
            status=status,
            error_code=error_code,
            regenerated_from=regenerated_from,
            moderation_action=moderation[0],
            moderation_category=moderation[1] or "",
            experiment=experiment_arm[0] if experiment_arm else None,
            arm=experiment_arm[1] if experiment_arm else "",
            content_chars=len(content),
            **(sizes or {}),
            context_documents=None
            if context_documents is None
            else sorted({str(document_id) for document_id in context_documents}),
        )
        Citation.objects.bulk_create([Citation(message=message, **citation) for citation in citations])
        Trace.objects.create(
            message=message,
            data_encrypted=encrypt_text(tenant=tenant, object_id=str(message.public_id), text=json.dumps(trace)),
        )
    return message


class FeedbackError(ServiceError):
    status_code = 400
    code = "invalid_feedback"


def feedback_give(*, tenant: Tenant, message: Message, user: User, rating: int, reason: str, comment: str) -> Feedback:
    if message.role != Message.Role.ASSISTANT:
        raise FeedbackError("feedback is given on answers")
    comment_encrypted = None
    if comment.strip():
        comment_encrypted = encrypt_text(
            tenant=tenant, object_id=f"feedback:{message.public_id}:{user.public_id}", text=comment.strip()[:2000]
        )
    feedback, _ = Feedback.objects.update_or_create(
        message=message,
        user=user,
        defaults={"rating": rating, "reason": reason, "comment_encrypted": comment_encrypted},
    )
    return feedback


def _original(message: Message) -> Message:
    return message.regenerated_from or message


def preference_give(*, chosen: Message, rejected: Message, user: User) -> Preference:
    """Two answers to one question: one regenerated from the other, or both from the same answer."""
    same_question = chosen.pk != rejected.pk and _original(chosen).pk == _original(rejected).pk
    if not same_question or chosen.conversation_id != rejected.conversation_id:
        raise FeedbackError("a preference compares an answer with its regeneration")
    with transaction.atomic():
        Preference.objects.filter(chosen=rejected, rejected=chosen).delete()
        preference, _ = Preference.objects.get_or_create(chosen=chosen, rejected=rejected, defaults={"user": user})
    return preference


def ungrounded_answers_set(*, tenant: Tenant, allowed: bool, actor: User) -> None:
    tenant_settings_change(
        tenant=tenant, action="chat.ungrounded_answers_changed", actor=actor, allow_ungrounded_answers=allowed
    )
