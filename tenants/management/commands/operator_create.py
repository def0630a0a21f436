from django.core.management.base import BaseCommand, CommandError

from tenants.accounts.models import User
from tenants.accounts.services import AccountsError, user_create


class Command(BaseCommand):
    help = "Create an operator account in the public schema (operators manage tenants, not their content)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--email", default="")

    def handle(self, *args, username, email, **options):
        try:
            user, password = user_create(username=username, email=email, role=User.Role.OPERATOR)
        except AccountsError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"operator {user.username} created; password (shown once): {password}")
