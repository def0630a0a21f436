"""Where a wrong or unsupported answer went wrong, from its trace: which stage lost what it needed.

The stages, in order: search found candidates; the best of them were sent as passages (the rest cut);
evidence sentences were selected from the passages for the prompt; the model wrote the answer. For a
claim that should have been backed (the gold answer in an evaluation, or a sentence the checker removed
in production) the first stage at which nothing holding it survives names the failure:

  retrieval_miss    no candidate holds it (in production: nothing retrieved backs the sentence, so the
                    model made it up or the documents lack it)
  ranking_loss      a candidate holds it, but it was cut before the prompt
  evidence_loss     a passage in the prompt holds it, but none of its sentences was chosen as evidence
  generation_error  evidence holding it was in the prompt, and the answer did not use it or contradicted it

An answer whose evidence held the claim but scored too weak, so the loop abstained without asking the
model, is an evidence loss too (the scorer lost it). An answer that made no search (refused, a tool,
a memory, a failure) is "not_searched": none of the four stages ran. One that searched and drafted, and
that output moderation stopped, is "moderation_stop": what it lost is the moderator's judgement, not a stage's.
"""

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from chat.answer.support import support
from retrieval.models import Chunk

KINDS = ("retrieval_miss", "ranking_loss", "evidence_loss", "generation_error", "moderation_stop", "not_searched")
NOT_SEARCHED = {"refused", "direct", "failed", "ungrounded"}


@dataclass(frozen=True)
class Finding:
    kind: str  # one of KINDS, or "ok"
    claim: str  # what should have been backed: the gold answer, or the removed sentence
    detail: str


def locate(
    holds: Callable[[str], bool],
    *,
    candidates: list[tuple[str, str]],
    sent: list[str],
    evidence: list[dict],
    weak_evidence: bool = False,
):
    """(kind, detail) for a claim `holds` recognises. `candidates`: (chunk id, text) in search order;
    `sent`: the chunk ids of the passages in the prompt, numbered from 1; `evidence`: {"number", "sentence"}."""
    holding = [chunk_id for chunk_id, text in candidates if holds(text)]
    if not holding:
        return "retrieval_miss", f"none of the {len(candidates)} candidates holds it"
    numbers = [number for number, chunk_id in enumerate(sent, start=1) if chunk_id in holding]
    if not numbers:
        rank = [chunk_id for chunk_id, _ in candidates].index(holding[0]) + 1
        return "ranking_loss", f"candidate {rank} holds it, but only {len(sent)} passages reached the prompt"
    used = [e for e in evidence if e["number"] in numbers and holds(e["sentence"])]
    if not used:
        return "evidence_loss", f"passage [{numbers[0]}] holds it, but no sentence of it was chosen as evidence"
    if weak_evidence:
        return "evidence_loss", f"evidence [{used[0]['number']}] holds it but scored too weak: the loop abstained"
    return "generation_error", f"evidence [{used[0]['number']}] holding it was in the prompt; the answer did not use it"


def candidate_texts(trace: dict) -> list[tuple[str, str]]:
    """The traced candidates with their text now (a deleted document's chunks are gone: they hold nothing)."""
    ids = trace.get("candidate_ids") or [c["chunk_id"] for c in trace.get("candidates", [])]
    texts = {str(chunk_id): text for chunk_id, text in Chunk.objects.filter(id__in=ids).values_list("id", "text")}
    return [(str(chunk_id), texts.get(str(chunk_id), "")) for chunk_id in ids]


def _stages(trace: dict) -> dict:
    sent = [str(chunk_id) for chunk_id in trace.get("passages_sent", [])]
    return {
        "candidates": candidate_texts(trace),
        "sent": sent,
        "evidence": trace.get("evidence", []),
        "weak_evidence": bool(trace.get("weak_evidence")),
    }


def searched(trace: dict) -> bool:
    return trace.get("kind") not in NOT_SEARCHED and ("candidates" in trace or "candidate_ids" in trace)


def diagnose_with_gold(trace: dict, *, shown: str, golds: list[str], contains: Callable) -> Finding:
    """An evaluation answer: right when the shown text contains a gold answer; else where the gold was lost."""
    claim = golds[0] if golds else ""
    if contains(shown, golds):
        return Finding("ok", claim, "the shown answer contains the gold answer")
    if "safety_stop" in trace:
        category = trace["safety_stop"].get("category")
        return Finding("moderation_stop", claim, f"output moderation stopped the drafted answer ({category})")
    if not searched(trace):
        return Finding(
            "not_searched", claim, f"no search was made (the answer was {trace.get('kind') or 'not traced'})"
        )
    kind, detail = locate(lambda text: contains(text, golds), **_stages(trace))
    return Finding(kind, claim, detail)


def diagnose_trace(trace: dict) -> list[Finding]:
    """A production answer: each sentence the checker removed, located by what would have backed it."""
    stages = _stages(trace)
    findings = []
    for removed in trace.get("removed_sentences", []):
        sentence = removed["sentence"]
        kind, detail = locate(lambda text, s=sentence: support(s, text).ok, **stages)
        findings.append(Finding(kind, sentence, detail))
    return findings


def breakdown(findings: list[Finding]) -> dict[str, int]:
    counts = Counter(f.kind for f in findings)
    return {kind: counts.get(kind, 0) for kind in ("ok", *KINDS)}


def diagnosis_table(details: list[dict], *, examples: int = 3) -> str:
    """The breakdown of diagnosed answers, and the first `examples` questions of each failure kind."""
    diagnosed = [row for row in details if row.get("diagnosis")]
    counts = Counter(row["diagnosis"]["kind"] for row in diagnosed)
    lines = ["| diagnosis | answers |", "| --- | --- |"]
    lines += [f"| {kind} | {counts.get(kind, 0)} of {len(diagnosed)} |" for kind in ("ok", *KINDS)]
    for kind in KINDS:
        for row in [row for row in diagnosed if row["diagnosis"]["kind"] == kind][:examples]:
            gold = (row.get("gold") or [""])[0]
            lines.append(f"- {kind}: {row['question'][:90]!r} (gold {gold[:40]!r}): {row['diagnosis']['detail']}")
    return "\n".join(lines)
