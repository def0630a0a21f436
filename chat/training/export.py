"""Training exports built from what the gate lets through, and nothing else.

SFT: one JSONL row per conversation, its eligible exchanges as chat messages (the preferred or
thumbed-up answer of each question, else the first). Preferences: DPO rows (prompt, chosen,
rejected) from the pairs a user chose between, then from answers to one question the user rated
up and down. Every string is PII-redacted. The manifest holds counts, the consent snapshot,
exclusions by reason, redaction counts and SHA-256 of every file and row.
"""

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field

from django.utils import timezone

from chat.training.gate import Answer, Exchange, GateResult, gate
from core.pii import redact
from tenants.accounts.selectors import people_names
from tenants.models import Tenant

FORMAT = "enclave-training-export/1"


@dataclass
class Built:
    sft: list[dict] = field(default_factory=list)
    preferences: list[dict] = field(default_factory=list)
    manifest: dict = field(default_factory=dict)
    conversation_ids: set[str] = field(default_factory=set)
    document_ids: set[str] = field(default_factory=set)
    user_ids: set[str] = field(default_factory=set)


class _Redactor:
    def __init__(self, names: list[str]):
        self.names = names
        self.counts: Counter = Counter()

    def __call__(self, text: str) -> str:
        redaction = redact(text, names=self.names)
        self.counts.update(redaction.counts)
        return redaction.text


def _best(exchange: Exchange) -> Answer:
    chosen = {a.id for a in exchange.answers if a.preferred_over}
    for answer in exchange.answers:
        if answer.id in chosen:
            return answer
    liked = [a for a in exchange.answers if a.rating == 1]
    return liked[0] if liked else exchange.answers[0]


def _pairs(exchange: Exchange) -> tuple[list[tuple[Answer, Answer, str]], int]:
    """Chosen/rejected pairs among one question's eligible answers, and preferences with a member held back."""
    by_id = {a.id: a for a in exchange.answers}
    pairs, seen, held_back = [], set(), 0
    for answer in exchange.answers:
        for rejected_id in answer.preferred_over:
            if rejected_id in by_id:
                pairs.append((answer, by_id[rejected_id], "preference"))
                seen.add(frozenset((answer.id, rejected_id)))
            else:
                held_back += 1
    for up in (a for a in exchange.answers if a.rating == 1):
        for down in (a for a in exchange.answers if a.rating == -1):
            if frozenset((up.id, down.id)) not in seen:
                pairs.append((up, down, "thumbs"))
    return pairs, held_back


def _row_hash(row: dict) -> str:
    return hashlib.sha256(json.dumps(row, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def build(*, result: GateResult, redactor: _Redactor, label_tenant: bool) -> Built:
    built = Built()
    held_back = result.preferences_held_back
    for conversation in result.conversations:
        messages, ids = [], []
        for exchange in conversation.exchanges:
            answer = _best(exchange)
            messages += [
                {"role": "user", "content": redactor(exchange.question)},
                {"role": "assistant", "content": redactor(answer.text)},
            ]
            ids += [exchange.question_id, answer.id]
            pairs, skipped = _pairs(exchange)
            held_back += skipped
            for chosen, rejected, source in pairs:
                row = {"prompt": redactor(exchange.question), "chosen": redactor(chosen.text)}
                row |= {"rejected": redactor(rejected.text), "source": source}
                built.preferences.append(row | {"message_ids": [exchange.question_id, chosen.id, rejected.id]})
            for item in exchange.answers:
                built.document_ids.update(item.context_documents)
        built.sft.append({"messages": messages, "conversation": conversation.id, "message_ids": ids})
        built.conversation_ids.add(conversation.id)
        built.user_ids.add(conversation.user)
    for row in built.sft + built.preferences:
        if label_tenant:
            row["tenant"] = result.tenant
        row["sha256"] = _row_hash(row)
    built.manifest = {
        "tenant": result.tenant,
        "consent": result.consent,
        "counts": {
            "sft_conversations": len(built.sft),
            "sft_exchanges": sum(len(row["messages"]) // 2 for row in built.sft),
            "preference_pairs": len(built.preferences),
            "pairs_from_preferences": sum(1 for row in built.preferences if row["source"] == "preference"),
            "pairs_from_thumbs": sum(1 for row in built.preferences if row["source"] == "thumbs"),
        },
        "excluded": {
            "messages": dict(sorted(result.excluded.items())),
            "preferences_with_a_held_back_answer": held_back,
        },
    }
    return built


def jsonl(rows: list[dict]) -> bytes:
    return b"".join(json.dumps(row, ensure_ascii=False).encode() + b"\n" for row in rows)


def file_entry(rows: list[dict]) -> dict:
    return {"rows": len(rows), "sha256": hashlib.sha256(jsonl(rows)).hexdigest()}


def tenant_export(*, tenant: Tenant, label_tenant: bool = False) -> Built:
    """Build the current schema's export (nothing unless the gate lets it through)."""
    result = gate(tenant=tenant)
    redactor = _Redactor(people_names())
    built = build(result=result, redactor=redactor, label_tenant=label_tenant)
    built.manifest = {
        "format": FORMAT,
        "created_at": timezone.now().isoformat(),
        **built.manifest,
        "redactions": dict(sorted(redactor.counts.items())),
        "files": {"sft.jsonl": file_entry(built.sft), "preferences.jsonl": file_entry(built.preferences)},
    }
    return built
