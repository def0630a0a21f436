"""The built safety classifier: the harm model, its threshold, the category head and a manifest.

Written by `manage.py safety_train` to $ENCLAVE_VAR_DIR/safety/classifier-<key>.npz (arrays, no
pickle) with the manifest beside it as JSON; the key hashes the data files, the exemplars, the
embedder's name and the training settings, so changed data never loads stale weights.
"""

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from safety.training.categories import CategoryHead
from safety.training.models import Linear


@dataclass(frozen=True)
class Artifact:
    harm: Linear
    threshold: float  # of the harm model's probability, chosen on dev
    head: CategoryHead
    manifest: dict

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.stem}.{os.getpid()}.partial.npz")
        np.savez(
            partial,
            harm_kind=np.array(self.harm.kind),
            harm_coef=self.harm.coef,
            harm_intercept=np.array(self.harm.intercept),
            threshold=np.array(self.threshold),
            head_classes=np.array(self.head.classes),
            head_coef=self.head.coef,
            head_intercept=self.head.intercept,
            head_threshold=np.array(self.head.threshold),
            head_cross_validation=np.array(json.dumps(self.head.cross_validation)),
            manifest=np.array(json.dumps(self.manifest, sort_keys=True)),
        )
        os.replace(partial, path)
        path.with_suffix(".json").write_text(json.dumps(self.manifest, indent=2, sort_keys=True) + "\n")

    @classmethod
    def load(cls, path: Path) -> "Artifact":
        with np.load(path, allow_pickle=False) as data:
            head = CategoryHead(
                classes=tuple(str(c) for c in data["head_classes"]),
                coef=data["head_coef"],
                intercept=data["head_intercept"],
                threshold=float(data["head_threshold"]),
                cross_validation=json.loads(str(data["head_cross_validation"])),
            )
            harm = Linear(str(data["harm_kind"]), data["harm_coef"], float(data["harm_intercept"]))
            return cls(harm, float(data["threshold"]), head, json.loads(str(data["manifest"])))
