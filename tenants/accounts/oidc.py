"""Company sign-in: a tenant admin configures the tenant's OpenID Connect provider; whoever signs in
through it is created on first sign-in and gets, at every sign-in, the role and the Enclave groups its
claims map to. Groups named in the mapping follow the provider; other groups are left to the admins."""

from django.db import transaction

from tenants import crypto
from tenants.accounts import oidc_network
from tenants.accounts.audit import audit_record
from tenants.accounts.models import Group, IdentityProvider, User
from tenants.accounts.oidc_client import Client
from tenants.accounts.services import AccountsError, api_keys_revoke_relying_on
from tenants.models import Tenant

SECRET_OBJECT_ID = "oidc-client-secret"  # noqa: S105 (the name the secret is encrypted under)
ROLES = (User.Role.ADMIN, User.Role.MEMBER)


class SignInRefused(AccountsError):
    """The provider vouched for someone who may not sign in here; the message says why."""


class IssuerRefused(AccountsError):
    """An issuer this server does not connect to (`oidc_network`): a wrong value, as a serializer's would be."""

    status_code = 400
    code = "invalid"


def provider_get() -> IdentityProvider | None:
    return IdentityProvider.objects.first()


def passwords_enabled() -> bool:
    provider = provider_get()
    return provider is None or provider.passwords_enabled


def _checked_maps(role_map: dict, group_map: dict) -> None:
    wrong = sorted(value for value in role_map.values() if value not in ROLES)
    if wrong:
        raise AccountsError(f"role_map values must be one of {', '.join(ROLES)}, not {', '.join(map(str, wrong))}")
    if not all(isinstance(name, str) and name.strip() for name in group_map.values()):
        raise AccountsError("group_map values must be Enclave group names")


def _checked_issuer(issuer: str) -> None:
    try:
        oidc_network.issuer_checked(issuer)
    except oidc_network.ProviderUrlRefused as exc:
        message = f"the issuer {exc}"
        raise IssuerRefused(message, detail={"issuer": [message]}) from exc


@transaction.atomic
def provider_configure(*, tenant: Tenant, actor: User, client_secret: str | None, **fields) -> IdentityProvider:
    """Create or change the provider. `client_secret` None keeps the stored one."""
    provider = provider_get() or IdentityProvider()
    if provider.pk is None and not client_secret:
        raise AccountsError("a client_secret is needed to set up the identity provider")
    _checked_maps(fields.get("role_map", provider.role_map), fields.get("group_map", provider.group_map))
    _checked_issuer(fields.get("issuer", provider.issuer))
    changed = sorted(name for name, value in fields.items() if getattr(provider, name) != value)
    for name, value in fields.items():
        setattr(provider, name, value)
    if client_secret:
        provider.client_secret_encrypted = crypto.encrypt_text(
            tenant=tenant, object_id=SECRET_OBJECT_ID, text=client_secret
        )
        changed.append("client_secret")
    provider.save()
    audit_record(
        action="identity_provider.configured",
        actor=actor,
        target_type="identity_provider",
        detail={"changed": changed, "issuer": provider.issuer},
    )
    return provider


@transaction.atomic
def provider_remove(*, actor: User) -> None:
    deleted, _ = IdentityProvider.objects.all().delete()
    if deleted:
        audit_record(action="identity_provider.removed", actor=actor, target_type="identity_provider")


def client_for(provider: IdentityProvider, *, tenant: Tenant, redirect_uri: str) -> Client:
    secret = crypto.decrypt_text(
        tenant=tenant, object_id=SECRET_OBJECT_ID, blob=bytes(provider.client_secret_encrypted)
    )
    return Client(
        issuer=provider.issuer,
        client_id=provider.client_id,
        client_secret=secret,
        scopes=provider.scopes,
        redirect_uri=redirect_uri,
    )


def _as_list(value) -> list[str]:
    if value is None:
        return []
    return [str(item) for item in value] if isinstance(value, (list, tuple)) else [str(value)]


def _role(provider: IdentityProvider, claims: dict) -> str:
    mapped = {provider.role_map.get(value) for value in _as_list(claims.get(provider.role_claim))}
    return User.Role.ADMIN if User.Role.ADMIN in mapped else User.Role.MEMBER


def _user_for(provider: IdentityProvider, claims: dict) -> tuple[User, bool]:
    subject = f"{provider.issuer} {claims['sub']}"
    user = User.objects.filter(oidc_subject=subject).first()
    if user is not None:
        return user, False
    username = str(claims.get("preferred_username") or claims.get("email") or claims["sub"])[:150]
    if User.objects.filter(username__iexact=username).exists():
        raise SignInRefused(
            f"An account named {username!r} already exists here and is not linked to the identity provider. "
            "Ask an admin to rename or remove it."
        )
    user = User(username=username, email=str(claims.get("email") or "")[:254], oidc_subject=subject)
    user.set_unusable_password()
    user.save()
    return user, True


def _groups_sync(provider: IdentityProvider, user: User, claims: dict) -> tuple[dict, list[str]]:
    """What changed, for the audit log, and the principals of the groups left."""
    held = _as_list(claims.get(provider.groups_claim))
    wanted = {provider.group_map[name] for name in held if name in provider.group_map}
    added, removed, lost = [], [], []
    for name in sorted(set(provider.group_map.values())):
        group = Group.objects.filter(name__iexact=name).first()
        if group is None and name in wanted:
            group = Group.objects.create(name=name, description="Follows the identity provider")
        if group is None:
            continue
        is_member = group.members.filter(pk=user.pk).exists()
        if name in wanted and not is_member:
            group.members.add(user)
            added.append(name)
        elif name not in wanted and is_member:
            group.members.remove(user)
            removed.append(name)
            lost.append(f"group:{group.public_id}")
    return {"groups_added": added, "groups_removed": removed}, lost


@transaction.atomic
def sign_in(*, provider: IdentityProvider, claims: dict, ip_address: str | None) -> User:
    """The user the verified claims stand for, with role and groups brought up to date."""
    user, created = _user_for(provider, claims)
    if not user.is_active:
        raise SignInRefused("This account is deactivated here.")
    role = _role(provider, claims)
    synced, lost = _groups_sync(provider, user, claims)
    changes = {"created": created, **synced}
    if role != user.role:
        changes["role"] = [user.role, role]
        if user.role == User.Role.ADMIN:
            lost.append("role:admin")
        user.role = role
        user.save(update_fields=["role"])
    if lost:
        api_keys_revoke_relying_on(lost=lost, actor=user, user=user)
    audit_record(action="auth.login", actor=user, ip_address=ip_address, detail={"method": "oidc", **changes})
    return user
