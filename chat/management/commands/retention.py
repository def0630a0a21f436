"""Show or set a tenant's retention periods, and enforce them now instead of at the next scheduled run."""

import json

from django.core.management.base import BaseCommand, CommandError

from chat.conversations.retention import retention_enforce, retention_periods_set
from tenants.models import Tenant

KEEP = "keep"


def _days(value: str) -> int | str:
    if value == KEEP:
        return KEEP
    days = int(value)
    if days < 1:
        raise ValueError("days must be at least 1")
    return days


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="schema name")
        parser.add_argument("--conversation-days", type=_days, help='days to keep conversations, or "keep"')
        parser.add_argument("--trace-days", type=_days, help='days to keep answer traces, or "keep"')
        parser.add_argument("--enforce", action="store_true", help="delete what is past the periods now")

    def handle(self, *args, **options):
        tenant = Tenant.objects.filter(schema_name=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f"no tenant {options['tenant']!r}")
        periods = {"conversation_days": tenant.conversation_retention_days, "trace_days": tenant.trace_retention_days}
        for name in periods:
            if options[name] is not None:
                periods[name] = None if options[name] == KEEP else options[name]
        periods = retention_periods_set(tenant=tenant, actor=None, **periods)
        receipt = retention_enforce(tenant=tenant) if options["enforce"] else None
        self.stdout.write(json.dumps({"tenant": tenant.schema_name, "periods": periods, "receipt": receipt}))
