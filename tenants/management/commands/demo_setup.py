"""Create the demo operator, tenant and users once, and print how to reach them (every run)."""

import json
import os
import secrets

from django.conf import settings
from django.core.management.base import BaseCommand
from django_tenants.utils import schema_context

from config import env
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
        port = env.get("ENCLAVE_PORT", "8000")
        tenant_host = services.tenant_domain(DEMO_SCHEMA)
        base = settings.ENCLAVE_PUBLIC_HOSTS[0]
        self.stdout.write(
            "\n".join(
                [
                    "",
                    "Enclave is running.",
                    f"  Operator console  http://{base}:{port}/        operator / {credentials.get('operator', '?')}",
                    f"  Acme tenant       http://{tenant_host}:{port}/  admin / {credentials.get('admin', '?')}",
                    f"                                                member / {credentials.get('member', '?')}",
                    f"  Tenant API        curl -H 'Authorization: Bearer {credentials.get('admin_api_key', '?')}' "
                    f"http://{base}:{port}/api/v1/me/",
                    f"  Readiness         http://{base}:{port}/health/ready",
                    f"  (demo credentials are kept in {path}, readable by you only)",
                    "",
                ]
            )
        )
