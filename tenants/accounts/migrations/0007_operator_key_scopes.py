from django.db import migrations

OPERATOR_SCOPES = ["read", "admin", "metrics"]


def operator_keys_keep_their_powers(apps, schema_editor):
    """Operator keys were made with a member's scopes, which the operator API ignored; from now on it
    applies them, so a key made before keeps every operator scope (what it could do) until replaced."""
    ApiKey = apps.get_model("accounts", "ApiKey")
    ApiKey.objects.filter(user__role="operator").update(scopes=OPERATOR_SCOPES)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0006_api_key_relies_on")]

    operations = [migrations.RunPython(operator_keys_keep_their_powers, migrations.RunPython.noop)]
