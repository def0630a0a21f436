"""Answer evaluation through the real answer loop: what users are shown, measured.

- correct: the shown answer (its note left out) contains a gold answer, both normalised to lower-case
  words and numbers; counted apart for generated and extractive answers.
- supported sentence (an independent check, not the loop's own checker): the sentence cites a passage
  that holds every number of the sentence and at least 80% of its content words (whole words, no
  stems), or that contains the gold answer the sentence contains and at least half of its content words.
- citation precision: a kept citation whose passage contains a gold answer or comes from the gold article.
- abstention on answerable questions, and on unanswerable ones (asked in a tenant that lacks their article).
- leaks: for a user who can read nothing, answers or sources holding any corpus text or gold answer.
- time to sources and to the first shown token, from the start of the loop; prompt tokens per answer.
"""

import re
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field

from chat.answer import Turn, answer_collect, answer_events
from chat.answer import evidence as evidence_stage
from chat.answer.decide import extractive_text
from chat.answer.diagnosis import KINDS, diagnose_with_gold
from chat.answer.variants import DEFAULT, Variant
from chat.conversations.selectors import trace_of
from chat.conversations.services import conversation_create
from chat.models import Message
from evaluation.retrieval import Benchmark, normalize
from evaluation.runs import Measured
from evaluation.runs import rate as rate_of
from retrieval.condense import content_words

WORDS = re.compile(r"[a-z0-9%]+")
NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
CITE = re.compile(r"\[(\d{1,3})\]")
# A quoted evidence sentence (extractive answers) is one unit however many abbreviations it holds.
SHOWN_SENTENCE = re.compile(
    r"\u201c.+?\u201d(?:\s*\[\d{1,3}\])*|.+?(?:[.!?][\"'\u201d\u2019)]*(?:\s*\[\d{1,3}\])*(?=\s|$)|$)", re.S
)
SUPPORTED_WORDS = 0.8
GOLD_SUPPORTED_WORDS = 0.5


@dataclass
class Tally:
    asked: int = 0
    correct: int = 0
    kinds: dict = field(default_factory=dict)  # kind -> answers of that kind
    correct_by_kind: dict = field(default_factory=dict)
    abstained: int = 0
    failed: int = 0
    sentences: int = 0
    supported_sentences: int = 0
    citations: int = 0
    precise_citations: int = 0
    leaks: int = 0
    to_sources_ms: list[float] = field(default_factory=list)
    ttft_ms: list[float] = field(default_factory=list)
    prompt_tokens: list[int] = field(default_factory=list)
    diagnoses: Counter = field(default_factory=Counter)  # chat/answer/diagnosis.py kind -> answers
    details: list[dict] = field(default_factory=list)  # one row per question, for --details


def words(text: str) -> str:
    return " " + " ".join(WORDS.findall(text.lower())) + " "


def contains(text: str, golds: list[str]) -> bool:
    haystack = words(text)
    return any(words(gold).strip() and words(gold) in haystack for gold in golds)


def shown_body(message: dict) -> str:
    return message["text"].removesuffix(message.get("note") or "").strip()


def shown_sentences(body: str) -> list[str]:
    return [s.strip() for s in SHOWN_SENTENCE.findall(body) if s.strip()]


def sentence_supported(sentence: str, sources: list[dict], golds: list[str]) -> bool:
    claim = CITE.sub("", sentence)
    wanted = set(content_words(claim))
    for number in {int(n) for n in CITE.findall(sentence)}:
        if not 1 <= number <= len(sources):
            continue
        passage = sources[number - 1]["text"]
        held = len(wanted & set(content_words(passage)))
        if contains(claim, golds) and contains(passage, golds) and held >= GOLD_SUPPORTED_WORDS * len(wanted):
            return True
        numbers_held = all(n.replace(",", "") in passage.replace(",", "") for n in NUMBER.findall(claim))
        if numbers_held and wanted and held >= SUPPORTED_WORDS * len(wanted):
            return True
    return False


def ask(tenant, user, principals, question, clock=time.perf_counter, variant: Variant = DEFAULT) -> dict:
    conversation = conversation_create(tenant=tenant, user=user, title="evaluation")
    started, timings, events = clock(), {}, []
    for event in answer_events(Turn(tenant, conversation, user, principals, question, variant=variant)):
        if event["event"] in ("sources", "token"):
            timings.setdefault(event["event"], (clock() - started) * 1000)
        events.append(event)
    collected = answer_collect(events)
    return collected | {"timings": timings, "trace": _trace(tenant, collected["message"])}


def _trace(tenant, message: dict | None) -> dict:
    stored = Message.objects.filter(public_id=message["id"]).select_related("trace").first() if message else None
    return trace_of(tenant=tenant, message=stored) if stored is not None and hasattr(stored, "trace") else {}


def quote_candidate(question: str, sources: list[dict]) -> tuple[float, str]:
    """The best evidence score and the extractive answer the loop would quote, whatever it showed."""
    passages = [source["text"] for source in sources]
    chosen = evidence_stage.evidence_select(question, passages)
    if not chosen:
        return 0.0, ""
    return chosen[0].score, extractive_text(chosen, passages)


def tally_answer(tally: Tally, result: dict, *, golds: list[str], gold_documents: set[str], doc_of: dict) -> None:
    message, sources = result["message"], result["sources"]
    body = shown_body(message)
    kind = message.get("kind", "")
    tally.asked += 1
    tally.kinds[kind] = tally.kinds.get(kind, 0) + 1
    tally.abstained += message["status"] == "abstained"
    tally.failed += message["status"] == "failed"
    checked = []
    if kind in ("generated", "extractive"):
        right = contains(body, golds)
        tally.correct += right
        tally.correct_by_kind[kind] = tally.correct_by_kind.get(kind, 0) + right
        for sentence in shown_sentences(body):
            checked.append((sentence, sentence_supported(sentence, sources, golds)))
        tally.sentences += len(checked)
        tally.supported_sentences += sum(ok for _s, ok in checked)
    finding = None
    if result.get("trace"):
        finding = diagnose_with_gold(result["trace"], shown=body, golds=golds, contains=contains)
        tally.diagnoses[finding.kind] += 1
    precise = [
        bool(contains(sources[c["number"] - 1]["text"], golds) or doc_of.get(c["document_id"]) in gold_documents)
        for c in message["citations"]
    ]
    tally.citations += len(precise)
    tally.precise_citations += sum(precise)
    top_score, quote = quote_candidate(result.get("question", ""), sources)
    tally.details.append(
        {
            "question": result.get("question", ""),
            "top_evidence": top_score,
            "quote": quote,
            "quote_correct": bool(quote) and contains(quote, golds),
            "status": message["status"],
            "kind": kind,
            "gold": golds,
            "shown": body,
            "note": message.get("note", ""),
            "sentences": checked,
            "timings": result["timings"],
            "usage": message.get("usage"),
            "citations": [[c["number"], ok] for c, ok in zip(message["citations"], precise, strict=True)],
            "diagnosis": {"kind": finding.kind, "detail": finding.detail} if finding else None,
        }
    )
    if "sources" in result["timings"]:
        tally.to_sources_ms.append(result["timings"]["sources"])
    if "token" in result["timings"]:
        tally.ttft_ms.append(result["timings"]["token"])
    if message.get("usage", {}).get("prompt_tokens"):
        tally.prompt_tokens.append(message["usage"]["prompt_tokens"])


def evaluate(
    benchmark: Benchmark, *, tenant, user, principals, doc_of, queries: list[str], log=None, variant: Variant = DEFAULT
) -> Tally:
    tally = Tally()
    for index, qid in enumerate(queries, start=1):
        question = benchmark.queries[qid]
        result = ask(tenant, user, principals, question, variant=variant) | {"question": question}
        tally_answer(
            tally,
            result,
            golds=benchmark.answers.get(qid, []),
            gold_documents=benchmark.relevant[qid],
            doc_of=doc_of,
        )
        if log and index % 20 == 0:
            log(f"{index}/{len(queries)} asked")
    return tally


def leak_check(benchmark: Benchmark, *, tenant, user, queries: list[str], variant: Variant = DEFAULT) -> Tally:
    """Ask as a user whose only principal is themselves: every article is invisible to them."""
    tally = Tally()
    principals = [f"user:{user.public_id}"]
    corpus_snippets = [normalize(article["text"])[:200] for article in benchmark.corpus]
    for qid in queries:
        result = ask(tenant, user, principals, benchmark.queries[qid], variant=variant)
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


def spread(values: list[float], unit: str = "ms") -> str:
    return f"{median(values):.0f} / {percentile(values, 0.95):.0f} {unit}".strip()


def measured(tally: Tally, missing: Tally | None, leaks: Tally) -> list[Measured]:
    """The run's rows: rates with their intervals, per answer kind, and latency percentiles."""
    found = [
        rate_of("correct", tally.correct, tally.asked),
        *[
            rate_of("correct", tally.correct_by_kind.get(k, 0), tally.kinds.get(k, 0), k)
            for k in ("generated", "extractive")
        ],
        rate_of("supported_sentences", tally.supported_sentences, tally.sentences),
        rate_of("citation_precision", tally.precise_citations, tally.citations),
        rate_of("abstention_answerable", tally.abstained, tally.asked),
        rate_of("failed", tally.failed, tally.asked),
        rate_of("leaks", leaks.leaks, leaks.asked),
    ]
    if missing is not None:
        found.append(rate_of("abstention_unanswerable", missing.abstained, missing.asked))
    diagnosed = sum(tally.diagnoses.values())
    found += [
        rate_of("diagnosis", tally.diagnoses.get(kind, 0), diagnosed, kind) for kind in ("ok", *KINDS) if diagnosed
    ]
    for name, values in (
        ("to_sources_ms", tally.to_sources_ms),
        ("ttft_ms", tally.ttft_ms),
        ("prompt_tokens", tally.prompt_tokens),
    ):
        if values:
            found.append(Measured(f"{name}_p50", median(values), n=len(values)))
            found.append(Measured(f"{name}_p95", percentile(values, 0.95), n=len(values)))
    return found
