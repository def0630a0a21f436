"""The built category head and its manifest.

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
    manifest: dict

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.stem}.{os.getpid()}.partial.npz")
        np.savez(
            partial,
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
            return cls(head, json.loads(str(data["manifest"])))
