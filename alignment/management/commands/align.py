"""manage.py align RECIPE --tenant SCHEMA: run a recipe now, in this process, printing its progress."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import schema_context

from alignment import services
from alignment.models import AlignmentRun
from alignment.recipe import RecipeError, recipe_file
from core.api import ServiceError
from tenants.models import Tenant


class Command(BaseCommand):
    help = "Train a LoRA adapter from a recipe (TOML or JSON) on one tenant's training export."

    def add_arguments(self, parser):
        parser.add_argument("recipe", type=Path)
        parser.add_argument("--tenant", required=True, help="the tenant's schema name")
        parser.add_argument("--resume", help="an unfinished run's id: go on from its last checkpoint")

    def handle(self, *args, recipe: Path, tenant: str, resume: str | None, **options):
        found = Tenant.objects.filter(schema_name=tenant).first()
        if found is None:
            raise CommandError(f"no tenant {tenant!r}")
        try:
            parsed = recipe_file(recipe)
        except RecipeError as error:
            raise CommandError(str(error)) from error
        with schema_context(found.schema_name):
            try:
                run = self._run(found, parsed, resume)
            except ServiceError as error:
                raise CommandError(str(error)) from error
            run = services.run_execute(tenant=found, run=run, progress_echo=self.stdout.write)
        self.stdout.write(f"run {run.public_id}: {run.status} {run.error}".rstrip())
        if run.status != AlignmentRun.Status.SUCCEEDED:
            raise CommandError(f"the run {run.status}: {run.error}")
        self.stdout.write(f"adapter {run.adapter_name}; metrics {run.metrics}")

    def _run(self, tenant, recipe, resume):
        if resume:
            run = AlignmentRun.objects.filter(public_id=resume).first()
            if run is None or run.status == AlignmentRun.Status.SUCCEEDED:
                raise CommandError(f"no unfinished run {resume}")
            return run
        return services.run_create(tenant=tenant, recipe=recipe, requested_by="manage.py align")
