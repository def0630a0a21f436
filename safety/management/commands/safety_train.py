"""Build the safety classifier's category head from the exemplars (once per exemplar list and harm model), so
that no request and no test ever trains it, and check the committed harm model and injection detector against
their cards. Prints where they are and what they measured."""

import time

from django.core.management.base import BaseCommand

from safety.classifiers import detector
from safety.training import build


class Command(BaseCommand):
    help = __doc__

    def handle(self, *args, **options):
        started = time.perf_counter()
        artifact, path = build.artifact_ensure(detector.Features(detector.detector("harm")))
        harm = detector.card("harm")
        injection = detector.card("injection")
        test = harm["metrics"]["test"]
        head = artifact.manifest["category_head"]
        self.stdout.write(
            f"safety classifier ready in {time.perf_counter() - started:.1f} s: category head {path} "
            f"(threshold {head['threshold']:.2f}); harm model {harm['sha256'][:12]}… (threshold "
            f"{harm['threshold']:.2f}; test split flagged: harmful {test['harmful']['flagged']:.3f}, "
            f"benign-but-sensitive {test['sensitive']['flagged']:.3f}, ordinary {test['ordinary']['flagged']:.3f}); "
            f"injection detector {injection['sha256'][:12]}… (threshold {injection['threshold']:.2f}; test split "
            f"flagged: injected {injection['metrics']['test']['injected']['flagged']:.3f}, "
            f"clean {injection['metrics']['test']['clean']['flagged']:.3f})"
        )
