import json

from django.core.management.base import BaseCommand, CommandError

from tenants import selectors, services
from tenants.models import Tenant


class Command(BaseCommand):
    help = "Tenant lifecycle: create, list, suspend, resume, delete."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create")
        create.add_argument("--name", required=True)
        create.add_argument("--schema", required=True, help="schema name, also the host: <schema>.<base domain>")
        create.add_argument("--admin", required=True, help="user name of the tenant's first admin")
        create.add_argument("--admin-email", default="")
        sub.add_parser("list")
        suspend = sub.add_parser("suspend")
        suspend.add_argument("schema")
        suspend.add_argument("--reason", default="")
        resume = sub.add_parser("resume")
        resume.add_argument("schema")
        delete = sub.add_parser("delete")
        delete.add_argument("schema")
        delete.add_argument("--yes", action="store_true", help="confirm: this destroys the tenant's data")

    def handle(self, *args, action, **options):
        try:
            getattr(self, f"_{action}")(**options)
        except (services.TenantError, Tenant.DoesNotExist) as exc:
            raise CommandError(str(exc)) from exc

    def _create(self, *, name, schema, admin, admin_email, **_):
        created = services.tenant_create(name=name, schema_name=schema, admin_username=admin, admin_email=admin_email)
        self.stdout.write(f"created tenant {created.tenant.name} (schema {schema})")
        self.stdout.write(f"pages: http://{services.tenant_domain(schema)}")
        self.stdout.write(f"admin: {created.admin.username} / {created.admin_password} (shown once)")

    def _list(self, **_):
        for tenant in selectors.tenant_list():
            domains = ", ".join(domain.domain for domain in tenant.domains.all())
            self.stdout.write(f"{tenant.schema_name}\t{tenant.status}\t{tenant.name}\t{domains}")

    def _suspend(self, *, schema, reason, **_):
        services.tenant_suspend(tenant=selectors.tenant_get_by_schema(schema_name=schema), reason=reason)
        self.stdout.write(f"suspended {schema}")

    def _resume(self, *, schema, **_):
        services.tenant_resume(tenant=selectors.tenant_get_by_schema(schema_name=schema))
        self.stdout.write(f"resumed {schema}")

    def _delete(self, *, schema, yes, **_):
        if not yes:
            raise CommandError("deleting a tenant destroys its schema, files and data key: add --yes to confirm")
        receipt = services.tenant_delete(tenant=selectors.tenant_get_by_schema(schema_name=schema))
        self.stdout.write(json.dumps(receipt, indent=2))
