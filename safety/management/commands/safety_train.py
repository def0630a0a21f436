"""Build the safety classifier's artifact from corpora/safety-train and the exemplars (once per data and
settings), so that no request and no test ever trains it. Prints where it is and what it measured."""

import time

from django.core.management.base import BaseCommand

from retrieval import embeddings
from safety.training import build


class Command(BaseCommand):
    help = __doc__

    def handle(self, *args, **options):
        started = time.perf_counter()
        artifact, path = build.artifact_ensure(embeddings.embedder(embeddings.MODEL_NAME))
        test = artifact.manifest["test"]
        self.stdout.write(
            f"safety classifier ready in {time.perf_counter() - started:.1f} s: {path} "
            f"(threshold {artifact.threshold:.2f}; test split flagged: harmful {test['harmful']['flagged']:.3f}, "
            f"benign-but-sensitive {test['sensitive']['flagged']:.3f}, ordinary {test['ordinary']['flagged']:.3f})"
        )
