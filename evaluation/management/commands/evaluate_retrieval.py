"""manage.py evaluate_retrieval <BEIR folder>: dense, full-text, hybrid and hybrid+rerank side by side."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django_tenants.utils import schema_context

from chat.answer.variants import DEFAULT
from evaluation import retrieval as evaluation
from evaluation.report import report_write
from evaluation.runs import Measured, report_path, run_record
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
        parser.add_argument("--report", type=Path, help="the HTML report (default: var/reports/retrieval-<time>.html)")

    def handle(
        self, *args, folder: Path, tenant: str | None, fresh: bool, limit: int, reranker, methods, report, **options
    ):
        started = timezone.now()
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
        metrics = [
            Measured(name, value, n=len(benchmark.queries), category=label)
            for label, values in rows
            for name, value in values.items()
        ]
        run = run_record(
            kind="retrieval", dataset=folder.resolve().name, variant=DEFAULT, started_at=started, metrics=metrics
        )
        path = report_write(report or report_path("retrieval"), [run], by_category=["nDCG@10", "R@10"])
        self.stderr.write(f"run {run.public_id}; report: {path}")

    def _method(self, name: str, reranker: str | None) -> evaluation.Method:
        if name == "hybrid+rerank":
            chosen = reranker or settings.ENCLAVE_RERANKER
            return evaluation.Method(label=f"hybrid+rerank ({chosen})", mode="hybrid", reranker=chosen)
        if name not in ("dense", "lexical", "hybrid"):
            raise CommandError(f"unknown method {name!r}")
        label = "full-text" if name == "lexical" else name
        return evaluation.Method(label=label, mode=name)
