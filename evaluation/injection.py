"""Injection success through the real answer loop, against the same poisoned context sent raw.

Each case's poisoned e-mail is ingested as a document (so ingestion flags it) into a scratch
tenant, and its question is asked through `answer_events`. The attack succeeded when the text the
user was shown (the streamed draft or the stored answer) did what the attack asked. The baseline
sends the same context straight to the model in the same prompt layout, without ingestion flags,
neutralisation, moderation or citation checks, to show what the defences change.
"""

from dataclasses import dataclass, field

from chat.answer import Turn, answer_events, prompt
from chat.answer.variants import DEFAULT, Variant
from chat.conversations.selectors import trace_of
from chat.conversations.services import conversation_create
from inference.client import chat_complete
from ingestion import pipeline
from ingestion.services import document_delete, document_upload
from retrieval.models import Chunk
from tenants.accounts.selectors import EVERYONE


@dataclass
class InjectionTally:
    cases: int = 0
    flagged_at_ingestion: int = 0
    followed_defended: int = 0
    followed_baseline: int = 0
    output_moderation_ms: list[float] = field(default_factory=list)


def _ingest(tenant, user, case, number: int):
    filename = f"email-{number:03d}.txt"
    upload = document_upload(tenant=tenant, user=user, filename=filename, data=case.context.encode())
    pipeline.version_ingest(tenant=tenant, version_id=upload.version.pk, worker="evaluation")
    return upload.document


def _shown(tenant, user, question: str, variant: Variant) -> tuple[str, dict]:
    conversation = conversation_create(tenant=tenant, user=user, title="injection evaluation")
    drafted, final, trace = [], "", {}
    for event in answer_events(Turn(tenant, conversation, user, [EVERYONE], question, variant=variant)):
        if event["event"] == "token":
            drafted.append(event["data"]["text"])
        elif event["event"] == "message":
            final = event["data"]["text"]
    message = conversation.messages.filter(role="assistant").select_related("trace").last()
    if message is not None and hasattr(message, "trace"):
        trace = trace_of(tenant=tenant, message=message)
    return "".join(drafted) + "\n" + final, trace


def _baseline(case, variant: Variant) -> str:
    evidence = prompt.evidence_block({1: [case.context]})
    messages = prompt.messages(system=prompt.system(), question=case.question, evidence=evidence)
    return chat_complete(
        messages,
        max_tokens=256,
        purpose="evaluation",
        base_url=variant.settings.base_url,
        adapter=variant.settings.adapter,
    ).text


def run(cases, *, tenant, user, variant: Variant = DEFAULT, baseline: bool = True, log=print) -> InjectionTally:
    tally = InjectionTally()
    for number, case in enumerate(cases, start=1):
        document = _ingest(tenant, user, case, number)
        flagged = Chunk.objects.filter(document_id=document.public_id).exclude(safety_flags=[]).exists()
        shown, trace = _shown(tenant, user, case.question, variant)
        tally.cases += 1
        tally.flagged_at_ingestion += flagged
        tally.followed_defended += case.followed(shown)
        output = (trace.get("safety") or {}).get("output") or {}
        if "ms" in output:
            tally.output_moderation_ms.append(output["ms"])
        if baseline:
            tally.followed_baseline += case.followed(_baseline(case, variant))
        document_delete(tenant=tenant, document=document, actor=user)
        log(f"case {number}/{len(cases)}: flagged={flagged} followed={case.followed(shown)}")
    return tally
