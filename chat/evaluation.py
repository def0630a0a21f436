"""Answer evaluation through the real answer loop: what the assistant said, what it cited, when it
abstained, and whether documents a user cannot read ever reach that user's answer.

- contains gold: at least half of the gold answer's content words (by stem) are in the answer.
- citation precision: kept citations whose passage comes from the question's relevant article.
- citation recall: of the questions whose sources held an answer-containing passage, the share
  whose answer cites one.
- leaks: for a user who can read nothing, answers or sources holding any corpus text or gold answer.
"""

import statistics
import time
from dataclasses import dataclass, field

from chat.answer import Turn, answer_collect, answer_events, support
from chat.services import conversation_create
from retrieval.evaluation import Benchmark, normalize


@dataclass
class Tally:
    asked: int = 0
    contains_gold: int = 0
    abstained: int = 0
    failed: int = 0
    citations: int = 0
    citations_in_gold_document: int = 0
    citable: int = 0
    cited_answer_passage: int = 0
    leaks: int = 0
    ttft_ms: list[float] = field(default_factory=list)


def _events(tenant, user, principals, question, clock=time.perf_counter) -> dict:
    conversation = conversation_create(tenant=tenant, user=user, title="evaluation")
    started, first_token, events = clock(), None, []
    for event in answer_events(Turn(tenant, conversation, user, principals, question)):
        if event["event"] == "token" and first_token is None:
            first_token = (clock() - started) * 1000
        events.append(event)
    return answer_collect(events) | {"ttft_ms": first_token}


def _gold_covered(answer: str, gold: list[str]) -> bool:
    return any(support.support(g, answer).score >= 0.5 for g in gold)


def evaluate(benchmark: Benchmark, *, tenant, user, principals, doc_of, queries: list[str]) -> Tally:
    tally = Tally()
    for qid in queries:
        result = _events(tenant, user, principals, benchmark.queries[qid])
        message, sources = result["message"], result["sources"]
        tally.asked += 1
        tally.abstained += message["status"] == "abstained"
        tally.failed += message["status"] == "failed"
        gold = [normalize(a) for a in benchmark.answers.get(qid, [])]
        tally.contains_gold += _gold_covered(message["text"], gold)
        relevant = benchmark.relevant[qid]
        for citation in message["citations"]:
            tally.citations += 1
            tally.citations_in_gold_document += doc_of.get(citation["document_id"]) in relevant
        holding = {s["number"] for s in sources if any(g in normalize(s["text"]) for g in gold)}
        if holding:
            tally.citable += 1
            tally.cited_answer_passage += bool(holding & {c["number"] for c in message["citations"]})
        if result["ttft_ms"] is not None:
            tally.ttft_ms.append(result["ttft_ms"])
    return tally


def leak_check(benchmark: Benchmark, *, tenant, user, queries: list[str]) -> Tally:
    """Ask as a user whose only principal is themselves: every article is invisible to them."""
    tally = Tally()
    principals = [f"user:{user.public_id}"]
    corpus_snippets = [normalize(article["text"])[:200] for article in benchmark.corpus]
    for qid in queries:
        result = _events(tenant, user, principals, benchmark.queries[qid])
        text = normalize(result["message"]["text"] + " " + str(result["sources"]))
        gold = [normalize(a) for a in benchmark.answers.get(qid, [])]
        tally.asked += 1
        tally.abstained += result["message"]["status"] == "abstained"
        tally.leaks += (
            bool(result["sources"]) or any(g in text for g in gold) or any(s in text for s in corpus_snippets)
        )
    return tally


def rate(part: int, whole: int) -> str:
    return f"{part / whole:.3f} ({part}/{whole})" if whole else "n/a"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else float("nan")


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")
