"""Conversations as their owner may read them now, for the API and for "download my conversations".

An answer drawn on a document the reader can no longer read (ACL narrowed, group left, deleted) is withheld
whole, since its sentences came from that document, and its citation is reduced to its number."""

from dataclasses import asdict

from django.http import Http404
from django.utils import timezone
from rest_framework.exceptions import PermissionDenied

from chat.answer.diagnosis import diagnose_trace
from chat.conversations import selectors
from chat.models import Conversation, Message
from core.pii import redact_value
from retrieval.selectors import chunks_readable
from tenants.accounts.audit import audit_record
from tenants.accounts.models import User
from tenants.accounts.selectors import people_names
from tenants.models import Tenant

WITHHELD = "This answer is withheld: {count} of its sources are no longer available to you."


def conversation_data(tenant: Tenant, conversation: Conversation) -> dict:
    return {
        "id": str(conversation.public_id),
        "title": selectors.conversation_title(tenant=tenant, conversation=conversation),
        "no_train": conversation.no_train,
        "created_at": conversation.created_at.isoformat(),
        "updated_at": conversation.updated_at.isoformat(),
    }


def citation_data(citation, withheld: set) -> dict:
    if citation.document_id in withheld:
        return {"number": citation.number, "available": False}
    return {
        "number": citation.number,
        "available": True,
        "chunk_id": str(citation.chunk_id),
        "document_id": str(citation.document_id),
        "version": citation.version,
        "page": citation.page,
        "section": citation.section,
        "title": citation.title,
        "quote": citation.quote,
    }


def message_data(tenant: Tenant, message: Message, withheld: set) -> dict:
    hidden = selectors.drawn_on(message) & withheld
    content = (
        WITHHELD.format(count=len(hidden)) if hidden else selectors.message_content(tenant=tenant, message=message)
    )
    return {
        "id": str(message.public_id),
        "role": message.role,
        "status": message.status,
        "regenerated_from": str(message.regenerated_from.public_id) if message.regenerated_from else None,
        "content": content,
        "sources_withheld": len(hidden),
        "citations": [citation_data(c, withheld) for c in message.citations.all()],
        "created_at": message.created_at.isoformat(),
    }


def messages_data(*, tenant: Tenant, principals: list[str], messages) -> list[dict]:
    messages = list(messages)
    withheld = selectors.withheld_documents(messages=messages, principals=principals)
    return [message_data(tenant, m, withheld) for m in messages]


def passages_withheld(trace: dict, *, principals: list[str]) -> set[int]:
    """The numbers of the passages sent to the model that the reader cannot read (or that are gone)."""
    sent = [str(chunk_id) for chunk_id in trace.get("passages_sent", [])]
    readable = chunks_readable(principals=principals, ids=sent)
    return {number for number, chunk_id in enumerate(sent, start=1) if chunk_id not in readable}


def trace_as_read(trace: dict, *, hidden: set[int], history_hidden: bool) -> dict:
    """The trace as its reader may read it. `hidden`: the passages they cannot read; a sentence of one is
    withheld, and so is every sentence the model wrote beside one (as the answer itself is). With
    `history_hidden` (earlier answers drew on documents they cannot read), a question rewritten from that
    history is withheld too."""
    shown = dict(trace)
    if "evidence" in trace:
        shown["evidence"] = [
            e | {"sentence": None, "withheld": True} if e["number"] in hidden else e for e in trace["evidence"]
        ]
    if hidden and "removed_sentences" in trace:
        shown["removed_sentences"] = [r | {"sentence": None, "withheld": True} for r in trace["removed_sentences"]]
    if history_hidden and trace.get("standalone_query") != trace.get("question"):
        shown["standalone_query"] = None
    return shown


def trace_for_admin(*, tenant: Tenant, message: Message, actor: User, principals: list[str]) -> dict:
    """How an answer came about, for a tenant admin diagnosing it, with where each removed sentence was
    lost (chat/answer/diagnosis.py); the people in the conversation stay unnamed, and what came from
    documents the admin cannot read is withheld (managing the library is not reading it). The read is audited."""
    if not hasattr(message, "trace"):
        raise Http404
    if not tenant.admin_reads_traces:
        raise PermissionDenied(
            "Reading traces is off for this tenant: they hold members' questions and answers. Turning it on "
            "(admin_reads_traces in the chat settings) takes a second admin or the operator."
        )
    audit_record(action="trace.read", actor=actor, target_type="message", target_id=str(message.public_id))
    full = selectors.trace_of(tenant=tenant, message=message)
    hidden = passages_withheld(full, principals=principals)
    earlier = selectors.answers_before(message=message)
    data = trace_as_read(
        full, hidden=hidden, history_hidden=bool(selectors.withheld_documents(messages=earlier, principals=principals))
    )
    withheld = selectors.withheld_documents(messages=[message], principals=principals)
    data["message"] = message_data(tenant, message, withheld)
    data["feedback"] = [
        {"rating": "up" if f.rating > 0 else "down", "reason": f.reason} for f in message.feedback.all()
    ]
    # Diagnosed on the whole trace (it reads the chunks, not the reader), its claims withheld as the sentences are.
    data["diagnosis"] = [asdict(finding) | ({"claim": None} if hidden else {}) for finding in diagnose_trace(full)]
    data, data["redactions"] = redact_value(data, names=people_names())
    return data


def my_conversations_export(*, tenant: Tenant, user: User, principals: list[str]) -> dict:
    """Every conversation of `user` with its messages, as they may read them now; the export is audited."""
    conversations = []
    for conversation in selectors.conversation_list(user=user):
        messages = selectors.messages_of(conversation=conversation)
        conversations.append(
            {
                **conversation_data(tenant, conversation),
                "messages": messages_data(tenant=tenant, principals=principals, messages=messages),
            }
        )
    audit_record(
        action="conversations.exported",
        actor=user,
        target_type="user",
        target_id=str(user.public_id),
        detail={"conversations": len(conversations)},
    )
    return {
        "exported_at": timezone.now().isoformat(),
        "user": user.username,
        "tenant": tenant.name,
        "conversations": conversations,
    }
