"""manage.py harm_categories [--artifact safety/artifacts/harm]: measure again, without training, which category
the whole classifier names each test request in, for the harm model's card (the safety page's trade-off). For
when the category head changed (its exemplars, or the layers it reads): only the card's category_head (topic_keep,
chosen on dev) and metrics.test_by_category are rewritten, so the model file and its sha256 stay as they are."""

from pathlib import Path

from django.core.management.base import BaseCommand

from retrieval import encoder_training, encoders
from safety.classifiers import detector as detectors
from safety.training import build, data, harm_model


class Command(BaseCommand):
    help = "Measure the whole classifier's categories on the test split again, into the harm model's card."

    def add_arguments(self, parser):
        parser.add_argument("--artifact", type=Path, default=detectors.folder_of("harm"))

    def handle(self, *args, artifact: Path, **options):
        build.training_allowed()
        model = detectors.detector("harm", artifact)
        rows = data.rows()
        card = encoders.card_read(artifact / "card.json")
        dev, test = ([row for row in rows if row.split == name] for name in ("dev", "test"))
        card["category_head"], card["metrics"]["test_by_category"] = harm_model.category_head_measured(model, dev, test)
        encoder_training.card_write(artifact / "card.json", card)
        detectors.forget(artifact)
        kinds = card["metrics"]["test_by_category"]["kinds"]
        named = {kind: round(1 - found["shares"].get("none", 0.0), 4) for kind, found in kinds.items()}
        self.stdout.write(
            f"topic_keep {card['category_head']['topic_keep']}; test rows named in a category, per kind: {named} "
            f"({artifact / 'card.json'})"
        )
