from django.core.management.base import BaseCommand, CommandError

from tenants import keyring


class Command(BaseCommand):
    help = "Create the key-encryption key file (0600) unless ENCLAVE_KEK is set or the file exists."

    def handle(self, *args, **options):
        try:
            created = keyring.init_file()
        except keyring.KeyringError as exc:
            raise CommandError(str(exc)) from exc
        ring = keyring.load()
        verb = "created" if created else "using"
        self.stdout.write(f"{verb} key-encryption key {ring.current_id} from {ring.source}")
