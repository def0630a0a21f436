"""Create the demo operator, tenant and users once, and print how to reach them; the passwords and key only
in the run that created them (they stay in a file only the owner can read)."""

import json
import os
import secrets

from django.conf import settings
from django.core.management.base import BaseCommand
from django_tenants.utils import schema_context

from core import env
from tenants import services
from tenants.accounts import services as accounts
from tenants.accounts.models import Group, User
from tenants.models import Tenant

DEMO_SCHEMA = "acme"


class Command(BaseCommand):
    help = "Create a demo tenant (acme) with an admin and a member, and an operator; print URLs and credentials."

    def handle(self, *args, **options):
        path = env.var_dir() / "demo-credentials.json"
        credentials = json.loads(path.read_text()) if path.exists() else {}
        before = dict(credentials)
        if not User.objects.filter(username="operator").exists():
            password = secrets.token_urlsafe(12)
            accounts.user_create(username="operator", password=password, role=User.Role.OPERATOR)
            credentials["operator"] = password
        if not Tenant.objects.filter(schema_name=DEMO_SCHEMA).exists():
            created = services.tenant_create(name="Acme Corp", schema_name=DEMO_SCHEMA, admin_username="admin")
            credentials["admin"] = created.admin_password
            with schema_context(DEMO_SCHEMA):
                member, credentials["member"] = accounts.user_create(username="member", role=User.Role.MEMBER)
                staff = Group.objects.create(name="staff", description="Everyone at Acme")
                staff.members.add(member, created.admin)
                _key, credentials["admin_api_key"] = accounts.api_key_create(
                    user=created.admin, name="demo", actor=created.admin
                )
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(credentials, handle, indent=2)
        self.stdout.write(
            self._reach(credentials, new={k for k in credentials if before.get(k) != credentials[k]}, path=path)
        )

    def _reach(self, credentials: dict, *, new: set, path) -> str:
        def shown(name: str) -> str:
            return credentials.get(name, "?") if name in new else "(printed when created)"

        port = env.get("ENCLAVE_PORT", "8000")
        tenant_host = services.tenant_domain(DEMO_SCHEMA)
        base = settings.ENCLAVE_PUBLIC_HOSTS[0]
        return "\n".join(
            [
                "",
                "Enclave is running.",
                f"  Operator console  http://{base}:{port}/        operator / {shown('operator')}",
                f"  Acme tenant       http://{tenant_host}:{port}/  admin / {shown('admin')}",
                f"                                                member / {shown('member')}",
                f"  Tenant API        curl -H 'Authorization: Bearer {shown('admin_api_key')}' "
                f"http://{base}:{port}/api/v1/me/",
                f"  Readiness         http://{base}:{port}/health/ready",
                f"  (demo credentials are kept in {path}, readable by you only)",
                "",
            ]
        )
