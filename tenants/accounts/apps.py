from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Users, groups, API keys and the audit log. Installed in public (operators) and in every
    tenant schema (that tenant's people)."""

    name = "tenants.accounts"
    label = "accounts"
    verbose_name = "Accounts (every schema)"
