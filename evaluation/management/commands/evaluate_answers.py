"""manage.py evaluate_answers <BEIR folder>: questions through the real answer loop and engine.

The sample is drawn with a fixed seed from the odd-numbered questions (the even-numbered ones are where
the evidence weights and thresholds were chosen: `--dev` samples those); `--all` asks every question with a
gold answer.
Unanswerable questions are the sample's questions whose article is missing from a second scratch tenant
that holds only the even-positioned articles.
"""

import contextlib
import json
import random
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django_tenants.utils import schema_context

from chat.answer.diagnosis import diagnosis_table
from chat.answer.variants import DEFAULT
from evaluation import answers as evaluation
from evaluation import retrieval as retrieval_evaluation
from evaluation.report import report_write
from evaluation.runs import report_path, run_record, variant_arguments, variant_file
from inference.embedded import running_server
from inference.transport import llm_server_state
from safety.classifiers import classifier
from safety.classifiers.embedded import ClassifierUnavailable
from tenants.accounts import services as accounts
from tenants.accounts.models import User
from tenants.accounts.selectors import EVERYONE

SEED = 2026


def sample(queries: list[str], limit: int, everything: bool, dev: bool = False) -> list[str]:
    if everything:
        return queries
    half = queries[0::2] if dev else queries[1::2]
    return sorted(random.Random(SEED).sample(half, min(limit, len(half))), key=queries.index)


class Command(BaseCommand):
    help = "Evaluate grounded answers on a BEIR-format folder (the scratch tenant of evaluate_retrieval is reused)."

    def add_arguments(self, parser):
        parser.add_argument("folder", type=Path)
        parser.add_argument("--limit", type=int, default=200, help="questions in the fixed sample")
        parser.add_argument("--all", action="store_true", dest="everything", help="every question with a gold answer")
        parser.add_argument("--dev", action="store_true", help="sample the even-numbered questions instead")
        parser.add_argument("--leak-questions", type=int, default=10)
        parser.add_argument("--no-unanswerable", action="store_true", help="skip the half-corpus tenant")
        parser.add_argument("--tenant", help="scratch tenant schema (default: eval_<folder name>)")
        parser.add_argument("--details", type=Path, help="write one JSON line per question asked here")
        variant_arguments(parser, "answers")

    def handle(
        self, *args, folder: Path, limit, everything, dev, leak_questions, no_unanswerable, tenant, details, **options
    ):
        variants = [variant_file(path) for path in options["variant"]] or [DEFAULT]
        if not (folder / "corpus.jsonl").exists():
            raise CommandError(f"{folder} has no corpus.jsonl")
        try:
            classifier()
        except ClassifierUnavailable as error:
            raise CommandError(str(error)) from error
        benchmark = retrieval_evaluation.benchmark_load(folder)
        schema = tenant or retrieval_evaluation.scratch_schema(folder)
        full = retrieval_evaluation.scratch_tenant(schema, benchmark, fresh=False, log=self.stderr.write)
        queries = sample([qid for qid in benchmark.queries if benchmark.answers.get(qid)], limit, everything, dev)
        half_articles = {str(article["_id"]) for article in benchmark.corpus[::2]}
        unanswerable = [qid for qid in queries if not benchmark.relevant[qid] & half_articles]
        settings.ENCLAVE_LLM_REQUESTS_PER_MINUTE = 1_000_000
        settings.ENCLAVE_LLM_REQUESTS_PER_USER_PER_MINUTE = 1_000_000
        settings.ENCLAVE_LLM_TOKENS_PER_DAY = 10**12
        half = None
        if unanswerable and not no_unanswerable:
            half = retrieval_evaluation.scratch_tenant(
                f"{schema}_half",
                retrieval_evaluation.Benchmark(benchmark.corpus[::2], {}, {}),
                fresh=False,
                log=self.stderr.write,
            )
        runs, samples, rows = [], {}, []
        with contextlib.ExitStack() as stack:
            if not llm_server_state().ok:
                settings.LLM_BASE_URL = stack.enter_context(running_server())
                self.stderr.write(f"started the embedded engine at {settings.LLM_BASE_URL}")
            for variant in variants:
                started = timezone.now()
                answerable = self._ask(full, benchmark, queries, variant)
                leaks = self._leaks(full, benchmark, queries[:leak_questions], variant)
                missing = self._ask(half, benchmark, unanswerable, variant) if half else None
                run = run_record(
                    kind="answers",
                    dataset=folder.resolve().name,
                    variant=variant,
                    started_at=started,
                    metrics=evaluation.measured(answerable, missing, leaks),
                )
                runs.append(run)
                samples[variant.name] = {"time to sources": answerable.to_sources_ms, "first token": answerable.ttft_ms}
                self.stdout.write(f"## {variant.name} (run {run.public_id})\n")
                self.stdout.write(self._table(answerable, missing, leaks))
                self.stdout.write("\n" + diagnosis_table(answerable.details))
                rows += [row | {"variant": variant.name, "answerable": True} for row in answerable.details]
                rows += [
                    row | {"variant": variant.name, "answerable": False} for row in (missing.details if missing else [])
                ]
        if details:
            details.write_text("".join(json.dumps(row) + "\n" for row in rows))
        path = report_write(
            options.get("report") or report_path("answers"),
            runs,
            history=["correct", "citation_precision", "supported_sentences"],
            by_category=["correct", "diagnosis"],
            samples=samples,
        )
        self.stderr.write(f"report: {path}")

    def _ask(self, tenant, benchmark, queries, variant):
        with schema_context(tenant.schema_name):
            reader = self._user("eval-reader")
            return evaluation.evaluate(
                benchmark,
                tenant=tenant,
                user=reader,
                principals=[EVERYONE, f"user:{reader.public_id}"],
                doc_of=retrieval_evaluation.corpus_ids_by_document(),
                queries=queries,
                log=self.stderr.write,
                variant=variant,
            )

    def _leaks(self, tenant, benchmark, queries, variant):
        with schema_context(tenant.schema_name):
            outsider = self._user("eval-outsider")
            return evaluation.leak_check(benchmark, tenant=tenant, user=outsider, queries=queries, variant=variant)

    def _user(self, username: str) -> User:
        user = User.objects.filter(username=username).first()
        return user or accounts.user_create(username=username)[0]

    def _table(self, tally, missing, leaks) -> str:
        rate, spread = evaluation.rate, evaluation.spread
        kinds = tally.kinds
        rows = [
            ("answerable questions", str(tally.asked)),
            ("correct (shown answer contains the gold answer)", rate(tally.correct, tally.asked)),
            *[
                (f"  {kind} answers: correct", rate(tally.correct_by_kind.get(kind, 0), kinds.get(kind, 0)))
                for kind in ("generated", "extractive")
            ],
            ("supported sentences (independent check)", rate(tally.supported_sentences, tally.sentences)),
            ("citation precision (gold answer or gold article)", rate(tally.precise_citations, tally.citations)),
            ("abstention on answerable questions", rate(tally.abstained, tally.asked)),
            ("failed answers", rate(tally.failed, tally.asked)),
            ("time to sources p50 / p95", spread(tally.to_sources_ms)),
            ("time to first token p50 / p95", spread(tally.ttft_ms)),
            ("prompt tokens per answer p50 / p95", spread(tally.prompt_tokens, "")),
        ]
        if missing is not None:
            rows.append(("unanswerable questions (article not indexed)", str(missing.asked)))
            rows.append(("abstention on unanswerable questions", rate(missing.abstained, missing.asked)))
        rows += [
            ("questions asked by a user who can read nothing", str(leaks.asked)),
            ("  answers or sources with their content (leaks)", str(leaks.leaks)),
            ("  abstained", rate(leaks.abstained, leaks.asked)),
        ]
        width = max(len(name) for name, _ in rows)
        lines = [f"| {'measure'.ljust(width)} | value |", f"|-{'-' * width}-|-------|"]
        lines += [f"| {name.ljust(width)} | {value} |" for name, value in rows]
        return "\n".join(lines)
