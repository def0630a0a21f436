"""manage.py evaluate_retrieval <BEIR folder>: dense, full-text, hybrid and hybrid+rerank side by side."""

import re
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import schema_context

from retrieval import evaluation, rerank
from tenants import services as tenant_services
from tenants.accounts.models import User
from tenants.accounts.selectors import EVERYONE
from tenants.models import Tenant


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
        schema = tenant or "eval_" + re.sub(r"[^a-z0-9]+", "_", folder.resolve().name.lower()).strip("_")
        scratch = self._scratch_tenant(schema, benchmark, fresh=fresh)
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

    def _scratch_tenant(self, schema: str, benchmark: evaluation.Benchmark, *, fresh: bool) -> Tenant:
        existing = Tenant.objects.filter(schema_name=schema).first()
        if existing and not fresh:
            with schema_context(schema):
                have = set(evaluation.corpus_ids_by_document().values())
            if have == {str(article["_id"]) for article in benchmark.corpus}:
                self.stderr.write(f"reusing tenant {schema}")
                return existing
        if existing:
            tenant_services.tenant_delete(tenant=existing)
        self.stderr.write(f"ingesting {len(benchmark.corpus)} documents into tenant {schema}")
        created = tenant_services.tenant_create(
            name=f"Evaluation ({schema})", schema_name=schema, admin_username="eval"
        )
        with schema_context(schema):
            user = User.objects.get(username="eval")
            evaluation.corpus_ingest(tenant=created.tenant, user=user, corpus=benchmark.corpus)
        return created.tenant
