"""manage.py diagnose_answers <BEIR folder>: where each stored evaluation answer lost its gold answer.

Reads the answers `evaluate_answers` left in its scratch tenant (their traces), matches each question to
the folder's gold answers, and classifies every wrong answer as a retrieval miss, a ranking loss, an
evidence-selection loss or a generation error (chat/answer/diagnosis.py): the breakdown, then examples.
Production answers are diagnosed on demand on their trace page (tenant admins), not here: an operator
never reads a tenant's questions."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import schema_context

from chat.answer.diagnosis import diagnose_with_gold, diagnosis_table
from chat.conversations import selectors
from chat.models import Message
from evaluation import retrieval as retrieval_evaluation
from evaluation.answers import contains
from tenants.models import Tenant


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("folder", type=Path)
        parser.add_argument("--tenant", help="scratch tenant schema (default: eval_<folder name>)")
        parser.add_argument("--examples", type=int, default=3, help="examples printed per failure kind")
        parser.add_argument("--details", type=Path, help="write one JSON line per diagnosed answer")

    def handle(self, *args, folder: Path, tenant, examples: int, details, **options):
        if not (folder / "corpus.jsonl").exists():
            raise CommandError(f"{folder} has no corpus.jsonl")
        benchmark = retrieval_evaluation.benchmark_load(folder)
        golds = {text: benchmark.answers[qid] for qid, text in benchmark.queries.items() if benchmark.answers.get(qid)}
        schema = tenant or retrieval_evaluation.scratch_schema(folder)
        scratch = Tenant.objects.filter(schema_name=schema).first()
        if scratch is None:
            raise CommandError(f"no tenant {schema}: run evaluate_answers on {folder} first")
        with schema_context(schema):
            rows = self._diagnosed(scratch, golds)
        if not rows:
            raise CommandError(f"{schema} holds no traced answers to questions of {folder}")
        self.stdout.write(diagnosis_table(rows, examples=examples))
        if details:
            details.write_text("".join(json.dumps(row) + "\n" for row in rows))

    def _diagnosed(self, tenant, golds: dict[str, list[str]]) -> list[dict]:
        rows = []
        answers = Message.objects.filter(role=Message.Role.ASSISTANT).select_related("trace", "conversation")
        for answer in answers.order_by("id"):
            question = answer.conversation.messages.filter(role=Message.Role.USER, id__lt=answer.id).last()
            if question is None or not hasattr(answer, "trace"):
                continue
            text = selectors.message_content(tenant=tenant, message=question)
            if text not in golds:
                continue
            shown = selectors.message_content(tenant=tenant, message=answer)
            trace = selectors.trace_of(tenant=tenant, message=answer)
            finding = diagnose_with_gold(trace, shown=shown, golds=golds[text], contains=contains)
            diagnosis = {"kind": finding.kind, "detail": finding.detail}
            rows.append({"question": text, "gold": golds[text], "status": answer.status, "diagnosis": diagnosis})
        return rows
