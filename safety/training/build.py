"""Train the safety classifier from corpora/safety-train and the exemplars, and write the artifact.

The harm model's kind and regularisation were chosen on the dev split by bench/safety_models; its
threshold is chosen here on dev, the lowest at which at most FPR_TARGET of the dev benign-but-sensitive
requests are flagged (the rules included, as in production). Test rows are scored for the manifest only.
"""

import hashlib
import json
import logging
import os
from dataclasses import replace
from pathlib import Path

import numpy as np

from config import env
from config.logging import request_id_var
from safety import exemplars
from safety.training import categories, data, models
from safety.training.artifact import Artifact

log = logging.getLogger(__name__)

FORMAT = 3  # bump when the procedure changes, so built artifacts are not reused
# chosen on dev (docs/benchmarks.md, "Safety classifier — data, split and choice"); a heavier
# benign-but-sensitive row raised recall but also false refusals on test, and is not used
KIND, C, SENSITIVE_WEIGHT = "both", 4.0, 1.0
FPR_TARGET = 0.05


def settings_used(embedder_name: str) -> dict:
    return {
        "format": FORMAT,
        "kind": KIND,
        "C": C,
        "sensitive_weight": SENSITIVE_WEIGHT,
        "fpr_target": FPR_TARGET,
        "embedder": embedder_name,
    }


def cache_key(embedder_name: str) -> str:
    inputs = {
        "settings": settings_used(embedder_name),
        "files": data.fingerprint(),
        "exemplars": exemplars.fingerprint(),
    }
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:24]


def artifact_path(embedder_name: str) -> Path:
    folder = Path(env.get("ENCLAVE_SAFETY_ARTIFACT_DIR") or env.var_dir() / "safety")
    return folder / f"classifier-{cache_key(embedder_name)}.npz"


def rows_fingerprint(rows: list[data.Row]) -> str:
    return hashlib.sha256(json.dumps([[r.text, r.kind, r.split] for r in rows]).encode()).hexdigest()


def rates(flagged: np.ndarray, kinds: np.ndarray) -> dict:
    """Share flagged per kind: recall on harmful rows, false-positive rates on the benign kinds."""
    return {
        kind: {"rows": int(np.sum(kinds == kind)), "flagged": round(float(np.mean(flagged[kinds == kind])), 4)}
        for kind in data.FILES
        if np.any(kinds == kind)
    }


class TrainingRefused(RuntimeError):
    """Training was asked for inside a request or a test: it belongs to the build step alone."""


def training_allowed() -> None:
    if request_id_var.get() != "-":
        raise TrainingRefused("the safety classifier is never trained inside a request: run `manage.py safety_train`")
    if os.environ.get("PYTEST_CURRENT_TEST") and os.environ.get("ENCLAVE_TRAINING_TEST") != "1":
        raise TrainingRefused("the safety classifier is never trained inside a test: scripts/test builds it first")


def artifact_build(embedder, rows: list[data.Row] | None = None, written=None) -> Artifact:
    """Fit the harm model on train, choose its threshold on dev, fit the category head on the exemplars."""
    training_allowed()
    from safety.classifiers.embedded import EmbeddedClassifier, segments

    rows = data.rows() if rows is None else rows
    written = exemplars.exemplar_list() if written is None else written
    train = [r for r in rows if r.split == "train"]
    texts = [segments(r.text)[0] for r in train]  # one example per row, cut as the classifier cuts it
    kinds = np.asarray([r.kind for r in train])
    harm = models.fit(KIND, texts, embedder.embed(texts), kinds, C=C, sensitive_weight=SENSITIVE_WEIGHT)
    head = categories.head_train(written, embedder.embed([e.text for e in written]))
    draft = Artifact(harm=harm, threshold=1.0, head=head, manifest={})
    classifier = EmbeddedClassifier(embedder=embedder, artifact=draft)

    scored = {}
    for split in ("dev", "test"):
        part = [r for r in rows if r.split == split]
        scores, ruled = classifier.harm_scores([r.text for r in part])
        scored[split] = (scores, ruled, np.asarray([r.kind for r in part]))
    scores, ruled, kinds = scored["dev"]
    threshold = threshold_choose(scores, ruled, kinds == "sensitive")
    measured = {split: rates(ruled | (scores >= threshold), kinds) for split, (scores, ruled, kinds) in scored.items()}
    manifest = {
        **settings_used(embedder.name),
        "threshold": threshold,
        "data": {
            "files_sha256": data.fingerprint(),
            "rows_sha256": rows_fingerprint(rows),
            "exemplars_sha256": exemplars.fingerprint(),
            "rows": {s: sum(r.split == s for r in rows) for s in data.SHARES},
            "split_seed": data.SEED,
        },
        "dev": measured["dev"],
        "test": measured["test"],
        "category_head": {"threshold": head.threshold, **head.cross_validation},
    }
    return replace(draft, threshold=threshold, manifest=manifest)


def threshold_choose(scores: np.ndarray, ruled: np.ndarray, benign: np.ndarray) -> float:
    """The lowest threshold (0.01 steps) at which at most FPR_TARGET of the `benign` rows are flagged."""
    for threshold in np.round(np.arange(0.05, 1.0, 0.01), 2):
        if not np.any(benign) or np.mean(ruled[benign] | (scores[benign] >= threshold)) <= FPR_TARGET:
            return float(threshold)
    return 0.99


def artifact_ensure(embedder) -> tuple[Artifact, Path]:
    """Load the built artifact, or build and write it (only the bootstrap step calls this)."""
    path = artifact_path(embedder.name)
    if path.exists():
        try:
            return Artifact.load(path), path
        except (OSError, ValueError, KeyError) as error:
            log.warning("safety classifier at %s unreadable (%s); rebuilding", path, error)
    artifact = artifact_build(embedder)
    artifact.save(path)
    return artifact, path
