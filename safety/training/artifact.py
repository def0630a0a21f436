"""The built category heads (the request head, and the answer head that also learnt document prose) and
their manifest.

Written by `manage.py safety_train` to $ENCLAVE_VAR_DIR/safety/classifier-<key>.npz (arrays, no pickle)
with the manifest beside it as JSON; the key hashes the exemplars, the embedder's name and the settings,
so changed exemplars never load stale weights. (The harm model is not built here: it is fine-tuned by
`manage.py train_harm_model` and committed, safety/artifacts/harm/.)
"""

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from safety.training.categories import CategoryHead


@dataclass(frozen=True)
class Artifact:
    head: CategoryHead
    answer_head: CategoryHead
    manifest: dict

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.stem}.{os.getpid()}.partial.npz")
        np.savez(
            partial,
            **_arrays("head", self.head),
            **_arrays("answer_head", self.answer_head),
            manifest=np.array(json.dumps(self.manifest, sort_keys=True)),
        )
        os.replace(partial, path)
        path.with_suffix(".json").write_text(json.dumps(self.manifest, indent=2, sort_keys=True) + "\n")

    @classmethod
    def load(cls, path: Path) -> "Artifact":
        with np.load(path, allow_pickle=False) as data:
            return cls(_head(data, "head"), _head(data, "answer_head"), json.loads(str(data["manifest"])))


def _arrays(prefix: str, head: CategoryHead) -> dict[str, np.ndarray]:
    return {
        f"{prefix}_classes": np.array(head.classes),
        f"{prefix}_coef": head.coef,
        f"{prefix}_intercept": head.intercept,
        f"{prefix}_threshold": np.array(head.threshold),
        f"{prefix}_cross_validation": np.array(json.dumps(head.cross_validation)),
    }


def _head(data, prefix: str) -> CategoryHead:
    return CategoryHead(
        classes=tuple(str(c) for c in data[f"{prefix}_classes"]),
        coef=data[f"{prefix}_coef"],
        intercept=data[f"{prefix}_intercept"],
        threshold=float(data[f"{prefix}_threshold"]),
        cross_validation=json.loads(str(data[f"{prefix}_cross_validation"])),
    )
