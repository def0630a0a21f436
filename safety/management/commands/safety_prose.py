"""manage.py safety_prose --data DIR: draw the benign prose windows the answer head learns from (safety/training/
prose.py) out of a reader-train folder (qa.jsonl) and write them to safety/data/benign_prose.jsonl (committed).
Nothing the appliance runs calls this; after it, `manage.py safety_train` builds a new head."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from safety.training import prose


class Command(BaseCommand):
    help = "Draw the benign prose windows of the answer head from a reader-train folder."

    def add_arguments(self, parser):
        parser.add_argument("--data", type=Path, required=True, help="folder with qa.jsonl (corpora/reader-train)")
        parser.add_argument("--count", type=int, default=prose.COUNT)
        parser.add_argument("--out", type=Path, default=prose.DATA)

    def handle(self, *args, data: Path, count: int, out: Path, **options):
        qa = data / "qa.jsonl"
        if not qa.exists():
            raise CommandError(f"{qa} does not exist")
        with open(qa, encoding="utf-8") as handle:
            rows = [json.loads(line) for line in handle if line.strip()]
        drawn = prose.windows_draw(rows, count)
        if len(drawn) < count:
            raise CommandError(f"{qa} gave {len(drawn)} windows, not {count}")
        with open(out, "w", encoding="utf-8") as handle:
            handle.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in drawn)
        science = sum(bool(prose.LIFE_SCIENCE.search(row["title"])) for row in drawn)
        self.stdout.write(f"{len(drawn)} windows ({science} from life-science articles) in {out}")
