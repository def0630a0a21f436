from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import schema_context

from core.api import ServiceError
from ingestion.index_rebuild import embedding_index_rebuild
from tenants.models import Tenant


class Command(BaseCommand):
    help = (
        "Re-embed every document of a tenant (or all tenants) with an embedding model, beside the index "
        "search reads now; search switches when the last document is done. Workers do the work."
    )

    def add_arguments(self, parser):
        parser.add_argument("--tenant", help="schema name; all active tenants when omitted")
        parser.add_argument("--model", default=None, help="default: ENCLAVE_EMBEDDING_MODEL")

    def handle(self, *args, tenant, model, **options):
        model = model or settings.ENCLAVE_EMBEDDING_MODEL
        tenants = Tenant.objects.filter(status=Tenant.Status.ACTIVE)
        if tenant:
            tenants = tenants.filter(schema_name=tenant)
            if not tenants.exists():
                raise CommandError(f"no active tenant with schema {tenant!r}")
        for target in tenants:
            with schema_context(target.schema_name):
                try:
                    queued = embedding_index_rebuild(tenant=target, model_name=model)
                except (ServiceError, LookupError) as exc:
                    raise CommandError(f"{target.schema_name}: {exc}") from exc
            self.stdout.write(f"{target.schema_name}: {queued} document(s) queued for {model}")
