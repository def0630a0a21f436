"""manage.py evaluate_answers <BEIR folder>: questions through the real answer loop and engine."""

import contextlib
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import schema_context

from chat import evaluation
from inference.embedded import running_server
from inference.transport import llm_server_state
from retrieval import evaluation as retrieval_evaluation
from tenants.accounts import services as accounts
from tenants.accounts.models import User
from tenants.accounts.selectors import EVERYONE


class Command(BaseCommand):
    help = "Evaluate grounded answers on a BEIR-format folder (the scratch tenant of evaluate_retrieval is reused)."

    def add_arguments(self, parser):
        parser.add_argument("folder", type=Path)
        parser.add_argument("--limit", type=int, default=40, help="questions to ask (each takes seconds on a CPU)")
        parser.add_argument("--leak-questions", type=int, default=10)
        parser.add_argument("--tenant", help="scratch tenant schema (default: eval_<folder name>)")

    def handle(self, *args, folder: Path, limit: int, leak_questions: int, tenant: str | None, **options):
        if not (folder / "corpus.jsonl").exists():
            raise CommandError(f"{folder} has no corpus.jsonl")
        benchmark = retrieval_evaluation.benchmark_load(folder)
        schema = tenant or retrieval_evaluation.scratch_schema(folder)
        scratch = retrieval_evaluation.scratch_tenant(schema, benchmark, fresh=False, log=self.stderr.write)
        queries = [qid for qid in benchmark.queries if benchmark.answers.get(qid)]
        settings.ENCLAVE_LLM_REQUESTS_PER_MINUTE = 1_000_000
        with contextlib.ExitStack() as stack:
            if not llm_server_state().ok:
                settings.LLM_BASE_URL = stack.enter_context(running_server())
                self.stderr.write(f"started the embedded engine at {settings.LLM_BASE_URL}")
            with schema_context(scratch.schema_name):
                reader = self._user("eval-reader")
                outsider = self._user("eval-outsider")
                documents = retrieval_evaluation.corpus_ids_by_document()
                tally = evaluation.evaluate(
                    benchmark,
                    tenant=scratch,
                    user=reader,
                    principals=[EVERYONE, f"user:{reader.public_id}"],
                    doc_of=documents,
                    queries=queries[:limit],
                )
                leaks = evaluation.leak_check(
                    benchmark, tenant=scratch, user=outsider, queries=queries[:leak_questions]
                )
        self.stdout.write(self._table(tally, leaks))

    def _user(self, username: str) -> User:
        user = User.objects.filter(username=username).first()
        return user or accounts.user_create(username=username)[0]

    def _table(self, tally, leaks) -> str:
        rows = [
            ("questions", str(tally.asked)),
            ("answer contains gold (≥ half its words)", evaluation.rate(tally.contains_gold, tally.asked)),
            (
                "citation precision (cites the gold article)",
                evaluation.rate(tally.citations_in_gold_document, tally.citations),
            ),
            (
                "citation recall (cites an answer passage it was shown)",
                evaluation.rate(tally.cited_answer_passage, tally.citable),
            ),
            ("abstention rate", evaluation.rate(tally.abstained, tally.asked)),
            ("failed answers", evaluation.rate(tally.failed, tally.asked)),
            (
                "time to first token p50 / p95",
                f"{evaluation.median(tally.ttft_ms):.0f} / {evaluation.percentile(tally.ttft_ms, 0.95):.0f} ms",
            ),
            ("questions asked by a user who can read nothing", str(leaks.asked)),
            ("  answers or sources with their content (leaks)", str(leaks.leaks)),
            ("  abstained", evaluation.rate(leaks.abstained, leaks.asked)),
        ]
        width = max(len(name) for name, _ in rows)
        lines = [f"| {'measure'.ljust(width)} | value |", f"|-{'-' * width}-|-------|"]
        lines += [f"| {name.ljust(width)} | {value} |" for name, value in rows]
        return "\n".join(lines)
