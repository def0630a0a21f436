from django.core.management.base import BaseCommand, CommandError

from tenants.accounts.models import OPERATOR_SCOPES
from tenants.accounts.selectors import operator_list
from tenants.accounts.services import api_key_create


class Command(BaseCommand):
    help = "Make an API key for an operator and print it once; --scope metrics for a Prometheus scrape config."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", required=True, help="what the key is for")
        parser.add_argument(
            "--scope", action="append", choices=OPERATOR_SCOPES, help="repeat for several; default: all of them"
        )

    def handle(self, *args, username, name, scope, **options):
        operator = operator_list().filter(username=username, is_active=True).first()
        if operator is None:
            raise CommandError(f"no active operator named {username!r}")
        api_key, raw = api_key_create(user=operator, name=name, actor=operator, scopes=scope)
        self.stdout.write(f"key {api_key.name} ({', '.join(api_key.scopes)}) for {username}, shown once: {raw}")
