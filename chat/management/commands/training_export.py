"""Write a training export (SFT JSONL, preference JSONL, manifest) of one tenant or of every consenting tenant."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import schema_context

from chat.training import services
from chat.training.export import jsonl
from tenants.models import Tenant


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--tenant", help="schema name; the export is also stored for the tenant's admins")
        target.add_argument("--all-consenting", action="store_true", help="operator export, rows labelled by tenant")
        parser.add_argument("--out", required=True, help="folder to write sft.jsonl, preferences.jsonl, manifest.json")

    def handle(self, *args, **options):
        out = Path(options["out"])
        out.mkdir(parents=True, exist_ok=True)
        if options["all_consenting"]:
            export = services.operator_export(actor_label="manage.py training_export")
            files = {"sft.jsonl": jsonl(export["sft"]), "preferences.jsonl": jsonl(export["preferences"])}
            manifest = export["manifest"]
        else:
            tenant = Tenant.objects.filter(schema_name=options["tenant"]).first()
            if tenant is None:
                raise CommandError(f"no tenant {options['tenant']!r}")
            with schema_context(tenant.schema_name):
                try:
                    stored = services.export_create(tenant=tenant, actor=None)
                except services.ExportRefused as exc:
                    raise CommandError(str(exc)) from exc
                files = {part: services.export_part(tenant=tenant, export=stored, part=part) for part in services.PARTS}
                manifest = stored.manifest
        for name, data in files.items():
            (out / name).write_bytes(data)
        (out / "manifest.json").write_text(json.dumps(manifest, indent=2))
        self.stdout.write(json.dumps({"out": str(out), "rows": {k: v["rows"] for k, v in manifest["files"].items()}}))
