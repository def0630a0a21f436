from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from tenants import crypto, keyring, selectors, tenant_secrets
from tenants.accounts.audit import audit_record
from tenants.models import Tenant, TenantKey


class Command(BaseCommand):
    help = (
        "Rotate keys. --new-kek: generate a new key-encryption key in the key file and re-wrap every "
        "data key under it (with ENCLAVE_KEK, set the new key there and the old one in "
        "ENCLAVE_KEK_PREVIOUS, then run without flags). Data keys made before tenant secrets existed are "
        "converted to tenant-secret wrapping. --prune: forget retired KEKs no data key uses and the "
        "secrets of tenants that no longer exist. "
        "--tenant SCHEMA: give the tenant a new data key version for new data."
    )

    def add_arguments(self, parser):
        parser.add_argument("--new-kek", action="store_true")
        parser.add_argument("--prune", action="store_true")
        parser.add_argument("--tenant")

    def handle(self, *args, new_kek, prune, tenant, **options):
        try:
            if new_kek:
                ring = keyring.rotate_file()
                self.stdout.write(f"new key-encryption key {ring.current_id}")
            rewrapped = crypto.data_keys_rewrap()
            self.stdout.write(f"re-wrapped {rewrapped} data key(s) under {keyring.load().current_id}")
            audit_record(action="keys.rotated", detail={"new_kek": new_kek, "rewrapped": rewrapped})
            if prune:
                in_use = set(TenantKey.objects.values_list("kek_id", flat=True)) | tenant_secrets.kek_ids_in_use()
                self.stdout.write(f"pruned {keyring.prune_file(in_use)} retired key-encryption key(s)")
                with transaction.atomic():
                    # Waits for tenants being created, whose secrets exist before their rows commit.
                    tenant_secrets.secrets_lock(exclusive=True)
                    existing = {str(pk) for pk in Tenant.objects.values_list("pk", flat=True)}
                    self.stdout.write(f"pruned {tenant_secrets.secrets_prune(existing)} secret(s) of deleted tenants")
            if tenant:
                target = selectors.tenant_get_by_schema(schema_name=tenant)
                tenant_key = crypto.data_key_create(tenant=target)
                audit_record(
                    action="keys.data_key_rotated",
                    target_type="tenant",
                    target_id=tenant,
                    detail={"version": tenant_key.version},
                )
                self.stdout.write(f"tenant {tenant}: new data key version {tenant_key.version}")
        except (keyring.KeyringError, crypto.DecryptionError) as exc:
            raise CommandError(str(exc)) from exc
        finally:
            connection.set_schema_to_public()
