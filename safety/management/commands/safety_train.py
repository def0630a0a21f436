"""Build the embedded safety classifier's weights from its exemplars (once per exemplar list), so that
no request and no test ever trains it."""

import time

from django.core.management.base import BaseCommand

from retrieval import embeddings
from safety.classifiers import embedded


class Command(BaseCommand):
    help = __doc__

    def handle(self, *args, **options):
        started = time.perf_counter()
        weights = embedded.weights_build(embeddings.embedder(embeddings.MODEL_NAME))
        self.stdout.write(
            f"embedded safety classifier ready in {time.perf_counter() - started:.1f} s "
            f"(threshold {weights.threshold:.2f}, {embedded.weights_path(embeddings.MODEL_NAME)})"
        )
