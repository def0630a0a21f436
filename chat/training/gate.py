"""The one gate between conversations and a training export.

Nothing else reads conversations, messages, feedback or preferences for training: `gate()` runs one
query over them and decides, message by message, with the most restrictive of every level of
consent: the tenant's setting, the conversation owner's opt-out, the conversation's no-train flag,
and for each answer the documents whose passages were in its context (a no-train, deleted or
unrecorded one makes it ineligible; so does every later turn of that conversation, whose history
carried the answer). Only eligible messages are decrypted. A test keeps this module the only reader.
"""

from collections import Counter
from dataclasses import dataclass, field

from django.db import connection

from chat.models import Conversation
from ingestion.selectors import documents_no_train, documents_present
from tenants.accounts.selectors import people_training_consent
from tenants.crypto import decrypt_text
from tenants.models import Tenant

FINAL_STATUSES = ("complete", "abstained")

# One statement decides, with what consent depends on, for every message in conversation order. It reads
# chat's tables; the people and the documents come in as subqueries their apps' selectors build
# (`{people}`, `{present}`, `{no_train}`), so consent is decided inside the query, by one snapshot.
MESSAGES_SQL = """
SELECT m.public_id, m.role, m.status, m.content_encrypted, m.regenerated_from_id, m.id,
       m.context_documents,
       c.public_id, c.no_train, u.public_id, u.training_opt_out,
       (SELECT count(*) FROM ({present}) d WHERE d.public_id = ANY(m.context_documents)),
       (SELECT count(*) FROM ({no_train}) d WHERE d.public_id = ANY(m.context_documents)),
       (SELECT f.rating FROM chat_feedback f WHERE f.message_id = m.id AND f.user_id = c.user_id),
       ARRAY(SELECT r.public_id FROM chat_preference p JOIN chat_message r ON r.id = p.rejected_id
             WHERE p.chosen_id = m.id AND p.user_id = c.user_id ORDER BY r.id)
FROM chat_message m
JOIN chat_conversation c ON c.id = m.conversation_id
JOIN ({people}) u ON u.id = c.user_id
ORDER BY c.id, m.created_at, m.id
"""


@dataclass
class Answer:
    id: str
    text: str
    rating: int | None
    preferred_over: list[str]
    context_documents: list[str]


@dataclass
class Exchange:
    """A question and every eligible answer to it (the first, then its regenerations)."""

    question_id: str
    question: str
    answers: list[Answer] = field(default_factory=list)


@dataclass
class ConversationForTraining:
    id: str
    user: str
    exchanges: list[Exchange] = field(default_factory=list)


@dataclass
class GateResult:
    tenant: str
    consent: dict
    conversations: list[ConversationForTraining]
    excluded: Counter  # messages held back, by reason
    preferences_held_back: int = 0  # chosen answers held back with their preferences


@dataclass
class _Row:
    """A row of MESSAGES_SQL, its columns in order."""

    id: str
    role: str
    status: str
    blob: bytes
    regenerated_from: int | None
    pk: int
    context: list | None
    conversation: str
    conversation_no_train: bool
    user: str
    user_opted_out: bool
    context_present: int
    context_no_train: int
    rating: int | None
    preferred_over: list


def _context_problem(row: _Row) -> str | None:
    if row.role != "assistant":
        return None
    if row.context is None:
        return "context_not_recorded"  # also: the context held the user's memories or caller-sent history
    if row.context_present < len(row.context):
        return "context_document_deleted"
    if row.context_no_train:
        return "no_train_document_in_context"
    return None


def _reason(row: _Row, tainted: bool) -> str | None:
    if row.user_opted_out:
        return "user_opted_out"
    if row.conversation_no_train:
        return "conversation_no_train"
    if tainted:
        return "after_ineligible_context"
    problem = _context_problem(row)
    if problem:
        return problem
    if row.role == "assistant" and row.status not in FINAL_STATUSES:
        return f"answer_{row.status}"
    return None


def _consent_snapshot(tenant: Tenant) -> dict:
    users = people_training_consent().filter(training_opt_out=True).count()
    conversations = Conversation.objects.filter(no_train=True).count()
    documents = documents_no_train().count()
    return {
        "tenant_training_consent": tenant.training_consent,
        "tenant_consent_changed_at": tenant.training_consent_changed_at.isoformat()
        if tenant.training_consent_changed_at
        else None,
        "users_opted_out": users,
        "conversations_no_train": conversations,
        "documents_no_train": documents,
    }


def gate(*, tenant: Tenant) -> GateResult:
    """What of the current schema's conversations may be used for training, and what was held back and why."""
    tenant.refresh_from_db(fields=["training_consent", "training_consent_changed_at"])
    rows = _rows()
    result = GateResult(
        tenant=tenant.schema_name, consent=_consent_snapshot(tenant), conversations=[], excluded=Counter()
    )
    if not tenant.training_consent:
        result.excluded["tenant_consent_off"] = len(rows)
        return result
    current: ConversationForTraining | None = None
    question_of: dict[int, Exchange | None] = {}  # by answer pk: the exchange it (or its original) replies to
    tainted, question = False, None
    for row in rows:
        if current is None or current.id != str(row.conversation):
            current = ConversationForTraining(id=str(row.conversation), user=str(row.user))
            result.conversations.append(current)
            tainted, question = False, None
        reason = _reason(row, tainted)
        tainted = tainted or _context_problem(row) is not None  # later turns saw this answer in their history
        if row.role == "user":
            question = None if reason else Exchange(question_id=str(row.id), question=_text(tenant, row))
            if question:
                current.exchanges.append(question)
        else:
            question_of[row.pk] = question_of.get(row.regenerated_from) if row.regenerated_from else question
        if reason:
            result.excluded[reason] += 1
            result.preferences_held_back += len(row.preferred_over)
        elif row.role == "assistant":
            if question_of[row.pk] is None:
                result.excluded["answer_without_eligible_question"] += 1
                continue
            question_of[row.pk].answers.append(
                Answer(
                    id=str(row.id),
                    text=_text(tenant, row),
                    rating=row.rating,
                    preferred_over=[str(r) for r in row.preferred_over],
                    context_documents=[str(d) for d in row.context],
                )
            )
    for conversation in result.conversations:
        conversation.exchanges = [e for e in conversation.exchanges if e.answers]
    result.conversations = [c for c in result.conversations if c.exchanges]
    return result


def _rows() -> list[_Row]:
    # The subqueries appear in the statement in this order, and so do their parameters.
    present, present_params = documents_present().query.sql_with_params()
    no_train, no_train_params = documents_no_train().query.sql_with_params()
    people, people_params = people_training_consent().query.sql_with_params()
    sql = MESSAGES_SQL.format(present=present, no_train=no_train, people=people)
    with connection.cursor() as cursor:
        cursor.execute(sql, [*present_params, *no_train_params, *people_params])
        return [_Row(*values) for values in cursor.fetchall()]


def _text(tenant: Tenant, row: _Row) -> str:
    return decrypt_text(tenant=tenant, object_id=str(row.id), blob=bytes(row.blob))
