"""Build the category head from the hand-written exemplars, and write the artifact (safety/training/artifact.py).

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
from safety.training import categories
from safety.training.artifact import Artifact

log = logging.getLogger(__name__)

FORMAT = 5  # bump when the procedure changes, so built artifacts are not reused


def settings_used(embedder_name: str) -> dict:
    return {"format": FORMAT, "embedder": embedder_name, "category_C": categories.C, "folds": categories.FOLDS}


def cache_key(embedder_name: str) -> str:
    inputs = {"settings": settings_used(embedder_name), "exemplars": exemplars.fingerprint()}
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
    """Fit the category head on the exemplars; its threshold and accuracy come from cross-validation."""
    training_allowed()
    written = exemplars.exemplar_list() if written is None else written
    head = categories.head_train(written, embedder.embed([e.text for e in written]))
    manifest = {
        **settings_used(embedder.name),
        "exemplars_sha256": exemplars.fingerprint(),
        "category_head": {"threshold": head.threshold, **head.cross_validation},
    }
    return Artifact(head=head, manifest=manifest)


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
