"""Build the category heads from the hand-written exemplars, and write the artifact (safety/training/artifact.py):
the head that judges requests, and the answer head, fitted on the same exemplars plus benign document prose
(safety/training/prose.py), that judges answers as they stream.

The head is small and quick to fit, and reads the harm model's pooled layers (safety/classifiers/detector.py
Features; anything with `name` and `embed` will do), so the bootstrap of scripts/run and scripts/test builds it
(`manage.py safety_train`), once per exemplar list and harm model. The harm model is fine-tuned and committed
instead (safety/artifacts/harm/, `manage.py train_harm_model`).
"""

import hashlib
import json
import logging
import os
from pathlib import Path

from core import env
from core.logging import request_id_var
from safety import exemplars
from safety.training import categories, prose
from safety.training.artifact import Artifact

log = logging.getLogger(__name__)

FORMAT = 6  # bump when the procedure changes, so built artifacts are not reused


def settings_used(embedder_name: str) -> dict:
    return {"format": FORMAT, "embedder": embedder_name, "category_C": categories.C, "folds": categories.FOLDS}


def cache_key(embedder_name: str) -> str:
    inputs = {
        "settings": settings_used(embedder_name),
        "exemplars": exemplars.fingerprint(),
        "prose": prose.fingerprint(),
    }
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:24]


def artifact_path(embedder_name: str) -> Path:
    folder = Path(env.get("ENCLAVE_SAFETY_ARTIFACT_DIR") or env.var_dir() / "safety")
    return folder / f"classifier-{cache_key(embedder_name)}.npz"


class TrainingRefused(RuntimeError):
    """Training was asked for inside a request or a test: it belongs to the build step alone."""


def training_allowed() -> None:
    if request_id_var.get() != "-":
        raise TrainingRefused("safety models are never trained inside a request: run `manage.py safety_train`")
    if os.environ.get("PYTEST_CURRENT_TEST") and os.environ.get("ENCLAVE_TRAINING_TEST") != "1":
        raise TrainingRefused("safety models are never trained inside a test: scripts/test builds the head first")


def artifact_build(embedder, written=None) -> Artifact:
    """Fit both heads; their thresholds and accuracy come from cross-validation."""
    training_allowed()
    written = exemplars.exemplar_list() if written is None else written
    documents = list(prose.windows())
    vectors = embedder.embed([e.text for e in written + documents])
    head = categories.head_train(written, vectors[: len(written)])
    answer_head = categories.head_train(written + documents, vectors)
    manifest = {
        **settings_used(embedder.name),
        "exemplars_sha256": exemplars.fingerprint(),
        "prose_sha256": prose.fingerprint(),
        "category_head": {"threshold": head.threshold, **head.cross_validation},
        "answer_head": {"threshold": answer_head.threshold, **answer_head.cross_validation},
    }
    return Artifact(head=head, answer_head=answer_head, manifest=manifest)


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
