from django.apps import AppConfig


class AlignmentConfig(AppConfig):
    """Consented feedback into LoRA adapters: recipes, TRL training runs, adapters with their lineage."""

    name = "alignment"
