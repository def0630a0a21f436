"""Train the embedded safety classifier on its exemplars now, or load the cached weights if they exist."""

import time

from django.core.management.base import BaseCommand

from safety.classifiers import classifier


class Command(BaseCommand):
    help = __doc__

    def handle(self, *args, **options):
        started = time.perf_counter()
        model = classifier("embedded")
        self.stdout.write(
            f"embedded safety classifier ready in {time.perf_counter() - started:.1f} s "
            f"(threshold {model.weights.threshold:.2f})"
        )
