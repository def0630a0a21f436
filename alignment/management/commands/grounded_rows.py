"""manage.py grounded_rows --data corpora/reader-train --sft N --pairs M --out DIR: public rows for a recipe."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from alignment.grounded import grounded_rows


class Command(BaseCommand):
    help = "Grounded-answer SFT rows and preference pairs, in the answer loop's prompt, from the reader corpus."

    def add_arguments(self, parser):
        parser.add_argument("--data", type=Path, required=True, help="folder with qa.jsonl")
        parser.add_argument("--out", type=Path, required=True, help="writes grounded-sft.jsonl, grounded-pairs.jsonl")
        parser.add_argument("--sft", type=int, default=1000)
        parser.add_argument("--pairs", type=int, default=200)
        parser.add_argument("--seed", type=int, default=2026)

    def handle(self, *args, data: Path, out: Path, sft: int, pairs: int, seed: int, **options):
        if not (data / "qa.jsonl").exists():
            raise CommandError(f"{data / 'qa.jsonl'} does not exist")
        sft_rows, pair_rows = grounded_rows(data / "qa.jsonl", sft=sft, pairs=pairs, seed=seed)
        out.mkdir(parents=True, exist_ok=True)
        for name, rows in (("grounded-sft.jsonl", sft_rows), ("grounded-pairs.jsonl", pair_rows)):
            (out / name).write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))
        self.stdout.write(f"{len(sft_rows)} SFT rows and {len(pair_rows)} preference pairs in {out}")
