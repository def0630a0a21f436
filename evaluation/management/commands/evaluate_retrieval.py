"""manage.py evaluate_retrieval <BEIR folder>: dense, full-text, hybrid and hybrid+rerank side by side."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import schema_context

from evaluation import retrieval as evaluation
from retrieval import rerank
from tenants.accounts.selectors import EVERYONE


class Command(BaseCommand):
    help = "Evaluate retrieval on a BEIR-format folder, ingested into a scratch tenant (reused when complete)."

    def add_arguments(self, parser):
        parser.add_argument("folder", type=Path)
        parser.add_argument("--tenant", help="scratch tenant schema (default: eval_<folder name>)")
        parser.add_argument("--fresh", action="store_true", help="ingest again even if the scratch tenant is complete")
        parser.add_argument("--limit", type=int, default=0, help="evaluate the first N queries only")
        parser.add_argument("--reranker", default=None, help=f"reranker of the last row; one of {rerank.known()}")
        parser.add_argument("--methods", default="dense,lexical,hybrid,hybrid+rerank")

    def handle(self, *args, folder: Path, tenant: str | None, fresh: bool, limit: int, reranker, methods, **options):
        if not (folder / "corpus.jsonl").exists():
            raise CommandError(f"{folder} has no corpus.jsonl")
        benchmark = evaluation.benchmark_load(folder)
        if limit:
            benchmark.queries = dict(list(benchmark.queries.items())[:limit])
        schema = tenant or evaluation.scratch_schema(folder)
        scratch = evaluation.scratch_tenant(schema, benchmark, fresh=fresh, log=self.stderr.write)
        chosen = [self._method(name, reranker) for name in methods.split(",") if name]
        with schema_context(scratch.schema_name):
            documents = evaluation.corpus_ids_by_document()
            self.stderr.write(f"{len(documents)} documents, {len(benchmark.queries)} queries")
            rows = []
            for method in chosen:
                metrics = evaluation.method_evaluate(
                    benchmark, method, principals=[EVERYONE], doc_of_chunk_document=documents
                )
                rows.append((method.label, metrics))
                self.stderr.write(f"{method.label}: done")
        self.stdout.write(evaluation.table(rows))

    def _method(self, name: str, reranker: str | None) -> evaluation.Method:
        if name == "hybrid+rerank":
            chosen = reranker or settings.ENCLAVE_RERANKER
            return evaluation.Method(label=f"hybrid+rerank ({chosen})", mode="hybrid", reranker=chosen)
        if name not in ("dense", "lexical", "hybrid"):
            raise CommandError(f"unknown method {name!r}")
        label = "full-text" if name == "lexical" else name
        return evaluation.Method(label=label, mode=name)
