"""Retrieval evaluation on a BEIR-format folder (corpus.jsonl, queries.jsonl, qrels.tsv, answers.jsonl).

Document level: the documents of the ranked passages, in order of first appearance, against qrels.
Passage level: whether a top passage contains a gold answer string (whitespace and case folded).
"""

import csv
import json
import math
import re
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from django_tenants.utils import schema_context

from ingestion import pipeline
from ingestion.models import Document, IngestionStatus
from ingestion.services import document_upload
from retrieval.search import search
from tenants import services as tenant_services
from tenants.accounts.models import User
from tenants.models import Tenant

SPACE = re.compile(r"\s+")


@dataclass
class Benchmark:
    corpus: list[dict]
    queries: dict[str, str]
    relevant: dict[str, set[str]]
    answers: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Method:
    label: str
    mode: str
    reranker: str = "none"


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def benchmark_load(folder: Path) -> Benchmark:
    corpus = _jsonl(folder / "corpus.jsonl")
    queries = {str(q["_id"]): q["text"] for q in _jsonl(folder / "queries.jsonl")}
    relevant: dict[str, set[str]] = defaultdict(set)
    with (folder / "qrels.tsv").open() as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            if int(row.get("score", 1)) > 0:
                relevant[str(row["query-id"])].add(str(row["corpus-id"]))
    answers = {}
    if (folder / "answers.jsonl").exists():
        answers = {str(a["query_id"]): a["answers"] for a in _jsonl(folder / "answers.jsonl") if a.get("answers")}
    queries = {qid: text for qid, text in queries.items() if qid in relevant}
    return Benchmark(corpus=corpus, queries=queries, relevant=dict(relevant), answers=answers)


def normalize(text: str) -> str:
    return SPACE.sub(" ", text).strip().lower()


def _ndcg(ranked: list[str], relevant: set[str], k: int) -> float:
    gain = sum(1 / math.log2(rank + 2) for rank, doc in enumerate(ranked[:k]) if doc in relevant)
    ideal = sum(1 / math.log2(rank + 2) for rank in range(min(k, len(relevant))))
    return gain / ideal if ideal else 0.0


def _reciprocal_rank(ranked: list[str], relevant: set[str], k: int) -> float:
    return next((1 / (rank + 1) for rank, doc in enumerate(ranked[:k]) if doc in relevant), 0.0)


def _recall(ranked: list[str], relevant: set[str], k: int) -> float:
    return len(set(ranked[:k]) & relevant) / len(relevant)


def _first_appearance(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def method_evaluate(
    benchmark: Benchmark, method: Method, *, principals: list[str], doc_of_chunk_document: dict[str, str], ks=(1, 5, 10)
) -> dict[str, float]:
    """Mean metrics of one method over every query.

    `doc_of_chunk_document` maps appliance document ids to corpus ids."""
    totals: dict[str, float] = defaultdict(float)
    answered = 0
    started = time.perf_counter()
    for qid, text in benchmark.queries.items():
        outcome = search(
            text, principals=principals, mode=method.mode, reranker=method.reranker, limit=50, highlight=False
        )
        docs = _first_appearance([doc_of_chunk_document.get(p.document_id, "") for p in outcome.passages])
        relevant = benchmark.relevant[qid]
        for k in ks:
            totals[f"R@{k}"] += _recall(docs, relevant, k)
        totals["MRR@10"] += _reciprocal_rank(docs, relevant, 10)
        totals["nDCG@10"] += _ndcg(docs, relevant, 10)
        gold = [normalize(answer) for answer in benchmark.answers.get(qid, []) if answer.strip()]
        if gold:
            answered += 1
            hits = [any(answer in normalize(p.text) for answer in gold) for p in outcome.passages]
            for k in ks:
                totals[f"Hit@{k}"] += any(hits[:k])
    count = len(benchmark.queries)
    metrics = {name: value / (answered if name.startswith("Hit") else count) for name, value in totals.items()}
    metrics["ms/query"] = (time.perf_counter() - started) * 1000 / max(1, count)
    return metrics


def table(rows: list[tuple[str, dict[str, float]]]) -> str:
    columns = list(rows[0][1])
    width = max(len("method"), *(len(label) for label, _ in rows))
    lines = [
        "| " + "method".ljust(width) + " | " + " | ".join(columns) + " |",
        "|-" + "-" * width + "-|" + "|".join("-" * (len(c) + 2) for c in columns) + "|",
    ]
    for label, metrics in rows:
        cells = [(f"{metrics[c]:.1f}" if c == "ms/query" else f"{metrics[c]:.3f}").rjust(len(c)) for c in columns]
        lines.append("| " + label.ljust(width) + " | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def corpus_document(article: dict) -> tuple[str, bytes]:
    """An article as the Markdown file an uploader would send: its title as the heading."""
    text = f"# {article.get('title') or article['_id']}\n\n{article['text']}"
    return f"{article['_id']}.md", text.encode()


def corpus_ingest(*, tenant, user, corpus: list[dict]) -> list[int]:
    """Upload every article and run the ingestion pipeline on each, in this process; the versions made."""
    versions = []
    for article in corpus:
        filename, data = corpus_document(article)
        versions.append(document_upload(tenant=tenant, user=user, filename=filename, data=data).version.pk)
    for version_id in versions:
        pipeline.version_ingest(tenant=tenant, version_id=version_id, worker="evaluation")
    return versions


def corpus_ids_by_document() -> dict[str, str]:
    """Appliance document id -> corpus id, for the indexed documents of the current tenant."""
    indexed = Document.objects.filter(status=IngestionStatus.INDEXED).values_list("public_id", "filename")
    return {str(public_id): filename.removesuffix(".md") for public_id, filename in indexed}


def scratch_schema(folder: Path) -> str:
    return "eval_" + re.sub(r"[^a-z0-9]+", "_", folder.resolve().name.lower()).strip("_")


def scratch_tenant(schema: str, benchmark: Benchmark, *, fresh: bool, log=print):
    """The evaluation tenant holding the corpus: reused when it holds every article, else built anew."""
    existing = Tenant.objects.filter(schema_name=schema).first()
    if existing and not fresh:
        with schema_context(schema):
            have = set(corpus_ids_by_document().values())
        if have == {str(article["_id"]) for article in benchmark.corpus}:
            log(f"reusing tenant {schema}")
            return existing
    if existing:
        tenant_services.tenant_delete(tenant=existing)
    log(f"ingesting {len(benchmark.corpus)} documents into tenant {schema}")
    created = tenant_services.tenant_create(name=f"Evaluation ({schema})", schema_name=schema, admin_username="eval")
    with schema_context(schema):
        user = User.objects.get(username="eval")
        corpus_ingest(tenant=created.tenant, user=user, corpus=benchmark.corpus)
    return created.tenant
