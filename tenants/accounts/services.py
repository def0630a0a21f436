import datetime
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import get_public_schema_name

from core.api import ServiceError
from tenants.accounts.audit import audit_record
from tenants.accounts.models import MEMBER_SCOPES, OPERATOR_SCOPES, SCOPES, ApiKey, AuditEvent, Group, User
from tenants.erasure import erasure_cascade
from tenants.models import ApiKeyRoute, Tenant

API_KEY_PREFIX = "ek"


class AccountsError(ServiceError):
    """A request that cannot be carried out, with a message that can be shown to the caller."""


def _current_tenant() -> Tenant | None:
    if connection.schema_name == get_public_schema_name():
        return None
    return Tenant.objects.get(schema_name=connection.schema_name)


@transaction.atomic
def user_create(
    *,
    username: str,
    email: str = "",
    password: str | None = None,
    role: str = User.Role.MEMBER,
    actor: User | None = None,
) -> tuple[User, str | None]:
    """Create a user. Returns the user and, when no password was given, a generated one (shown once)."""
    if User.objects.filter(username__iexact=username).exists():
        raise AccountsError(f"a user named {username!r} already exists")
    generated = None
    if password is None:
        password = generated = secrets.token_urlsafe(12)
    user = User(username=username, email=email, role=role)
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise AccountsError(" ".join(exc.messages)) from exc
    user.set_password(password)
    user.full_clean(exclude=["password"])
    user.save()
    audit_record(
        action="user.created",
        actor=actor,
        target_type="user",
        target_id=str(user.public_id),
        detail={"username": username, "role": role},
    )
    return user, generated


@transaction.atomic
def user_update(*, user: User, actor: User, role: str | None = None, is_active: bool | None = None) -> User:
    changes = {}
    if role is not None and role != user.role:
        if user == actor and role != User.Role.ADMIN:
            raise AccountsError("you cannot remove your own admin role")
        changes["role"] = [user.role, role]
        if user.role == User.Role.ADMIN:
            api_keys_revoke_relying_on(lost=["role:admin"], actor=actor, user=user)
        user.role = role
    if is_active is not None and is_active != user.is_active:
        if user == actor and not is_active:
            raise AccountsError("you cannot deactivate yourself")
        changes["is_active"] = [user.is_active, is_active]
        user.is_active = is_active
        if not is_active:
            _user_keys_revoke(user=user)
    if changes:
        user.save(update_fields=["role", "is_active"])
        audit_record(
            action="user.updated", actor=actor, target_type="user", target_id=str(user.public_id), detail=changes
        )
    return user


ERASED_LABEL = "[erased user]"


@transaction.atomic
def user_erase(*, user: User, actor: User) -> dict:
    """Delete a person and everything that is theirs (conversations, memories, feedback, exports
    drawing on them, API keys); audit entries keep their random id but lose the name. A receipt."""
    if user == actor:
        raise AccountsError("you cannot erase yourself")
    if user.is_tenant_admin and not User.objects.filter(role=User.Role.ADMIN, is_active=True).exclude(pk=user.pk):
        raise AccountsError("the last admin cannot be erased")
    public_id = str(user.public_id)
    removed = erasure_cascade(tenant=_current_tenant(), kind="user", ids=[public_id])
    prefixes = list(user.api_keys.values_list("prefix", flat=True))
    removed["api_keys"] = len(prefixes)
    ApiKeyRoute.objects.filter(prefix__in=prefixes).delete()
    removed["group_memberships"] = user.member_groups.count()
    renamed = AuditEvent.objects.filter(actor_id=user.public_id).update(actor_label=ERASED_LABEL)
    # Failed sign-ins name the person only by what was typed.
    typed = [value for value in (user.username, user.email) if value]
    renamed += AuditEvent.objects.filter(actor_id__isnull=True, actor_label__in=typed).update(actor_label=ERASED_LABEL)
    renamed += AuditEvent.objects.filter(action="user.created", target_id=public_id).update(detail={})
    removed["audit_entries_pseudonymised"] = renamed
    user.delete()
    receipt = {"user": public_id, "erased_at": timezone.now().isoformat(), "removed": removed}
    audit_record(action="user.erased", actor=actor, target_type="user", target_id=public_id, detail=receipt)
    return receipt


@transaction.atomic
def training_opt_out_set(*, user: User, opt_out: bool) -> dict:
    """A person's own no to training; saying no also deletes stored exports that drew on them."""
    removed = {}
    if opt_out != user.training_opt_out:
        user.training_opt_out = opt_out
        user.save(update_fields=["training_opt_out"])
        if opt_out:
            removed = erasure_cascade(tenant=_current_tenant(), kind="user_no_train", ids=[user.public_id])
        audit_record(
            action="training.opt_out_changed",
            actor=user,
            target_type="user",
            target_id=str(user.public_id),
            detail={"opt_out": opt_out, "removed": removed},
        )
    return {"opt_out": user.training_opt_out, "removed": removed}


def _user_keys_revoke(*, user: User) -> int:
    return ApiKey.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())


@transaction.atomic
def group_create(*, name: str, description: str = "", actor: User) -> Group:
    if Group.objects.filter(name__iexact=name).exists():
        raise AccountsError(f"a group named {name!r} already exists")
    group = Group.objects.create(name=name, description=description)
    audit_record(
        action="group.created", actor=actor, target_type="group", target_id=str(group.public_id), detail={"name": name}
    )
    return group


@transaction.atomic
def group_update(*, group: Group, actor: User, name: str | None = None, description: str | None = None) -> Group:
    if name is not None and name != group.name:
        if Group.objects.filter(name__iexact=name).exclude(pk=group.pk).exists():
            raise AccountsError(f"a group named {name!r} already exists")
        audit_record(
            action="group.renamed",
            actor=actor,
            target_type="group",
            target_id=str(group.public_id),
            detail={"from": group.name, "to": name},
        )
        group.name = name
    if description is not None:
        group.description = description
    group.save()
    return group


@transaction.atomic
def group_delete(*, group: Group, actor: User) -> None:
    api_keys_revoke_relying_on(lost=[f"group:{group.public_id}"], actor=actor)
    audit_record(
        action="group.deleted",
        actor=actor,
        target_type="group",
        target_id=str(group.public_id),
        detail={"name": group.name, "members": group.members.count()},
    )
    group.delete()


@transaction.atomic
def group_member_add(*, group: Group, user: User, actor: User) -> None:
    group.members.add(user)
    audit_record(
        action="group.member_added",
        actor=actor,
        target_type="group",
        target_id=str(group.public_id),
        detail={"user": str(user.public_id)},
    )


@transaction.atomic
def group_member_remove(*, group: Group, user: User, actor: User) -> None:
    group.members.remove(user)
    api_keys_revoke_relying_on(lost=[f"group:{group.public_id}"], actor=actor, user=user)
    audit_record(
        action="group.member_removed",
        actor=actor,
        target_type="group",
        target_id=str(group.public_id),
        detail={"user": str(user.public_id)},
    )


def _secret_hash(secret: str) -> str:
    # The secret is 32 random bytes, so a fast hash is enough (no dictionary to attack).
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class ApiKeyParts:
    prefix: str
    secret: str


def api_key_parse(raw: str) -> ApiKeyParts | None:
    parts = raw.strip().split("_")
    if len(parts) != 3 or parts[0] != API_KEY_PREFIX or not parts[1] or not parts[2]:
        return None
    return ApiKeyParts(prefix=parts[1], secret=parts[2])


class ScopeNotHeld(ServiceError):
    status_code = 403
    code = "scope_not_held"


def scopes_grantable(*, user: User, created_by_key: ApiKey | None) -> list[str]:
    """What a new key of `user` may do: what the user's role allows, and no more than the key making it."""
    allowed = {User.Role.ADMIN: SCOPES, User.Role.OPERATOR: OPERATOR_SCOPES}.get(user.role, MEMBER_SCOPES)
    return [scope for scope in allowed if created_by_key is None or scope in created_by_key.scopes]


@transaction.atomic
def api_key_create(
    *,
    user: User,
    name: str,
    actor: User,
    expires_at=None,
    created_by_key: ApiKey | None = None,
    scopes: list[str] | None = None,
) -> tuple[ApiKey, str]:
    """Create a key for `user` in the current schema. Returns the key row and the full key (shown once).
    A key made with another key never has more scope, never outlives it, and is revoked with it. A key of
    a person the identity provider vouches for lives ENCLAVE_OIDC_KEY_MAX_DAYS at most and records what
    they held, so that losing it revokes the key (`api_keys_revoke_relying_on`)."""
    grantable = scopes_grantable(user=user, created_by_key=created_by_key)
    if scopes is None:
        scopes = grantable
    elif set(scopes) - set(grantable):
        raise ScopeNotHeld(
            f"a new key cannot have scopes its maker does not hold: {sorted(set(scopes) - set(grantable))}"
        )
    if created_by_key is not None and created_by_key.expires_at is not None:
        expires_at = min(expires_at or created_by_key.expires_at, created_by_key.expires_at)
    if user.oidc_subject:
        latest = timezone.now() + datetime.timedelta(days=settings.ENCLAVE_OIDC_KEY_MAX_DAYS)
        expires_at = min(expires_at or latest, latest)
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32).replace("_", "-")
    api_key = ApiKey.objects.create(
        user=user,
        name=name,
        prefix=prefix,
        secret_hash=_secret_hash(secret),
        expires_at=expires_at,
        created_by_key=created_by_key,
        scopes=[scope for scope in grantable if scope in scopes],
        relies_on=_held(user) if user.oidc_subject else [],
    )
    ApiKeyRoute.objects.create(prefix=prefix, tenant=_current_tenant())
    audit_record(
        action="api_key.created",
        actor=actor,
        target_type="api_key",
        target_id=str(api_key.public_id),
        detail={
            "name": name,
            "owner": str(user.public_id),
            "expires_at": expires_at.isoformat() if expires_at else None,
            "scopes": sorted(scopes),
            "created_by_key": str(created_by_key.public_id) if created_by_key else None,
        },
    )
    return api_key, f"{API_KEY_PREFIX}_{prefix}_{secret}"


@transaction.atomic
def _made_by(api_key: ApiKey, maker: ApiKey) -> bool:
    seen = set()
    while api_key.created_by_key_id is not None and api_key.created_by_key_id not in seen:
        if api_key.created_by_key_id == maker.pk:
            return True
        seen.add(api_key.created_by_key_id)
        api_key = api_key.created_by_key
    return False


def api_key_revoke_checked(*, api_key: ApiKey, actor: User, with_key: ApiKey | None) -> ApiKey:
    """Revoke as asked through the API. With a key, only itself, the keys it made (and theirs), or a key
    holding no scope it lacks: a read-only key cannot take the owner's full key away."""
    narrower = with_key is not None and not set(api_key.scopes) <= set(with_key.scopes)
    if narrower and api_key.pk != with_key.pk and not _made_by(api_key, with_key):
        raise ScopeNotHeld("this key cannot revoke a key with scopes it does not hold")
    return api_key_revoke(api_key=api_key, actor=actor)


def _held(user: User) -> list[str]:
    role = ["role:admin"] if user.is_tenant_admin else []
    return role + [f"group:{group_id}" for group_id in user.member_groups.values_list("public_id", flat=True)]


def api_keys_revoke_relying_on(*, lost: list[str], actor: User, user: User | None = None) -> None:
    """Revoke the keys made while their owner (`user`, or anyone) held what is now `lost` ("role:admin",
    "group:<id>"): access the identity provider or an admin took away does not live on in a key."""
    keys = ApiKey.objects.filter(revoked_at__isnull=True, relies_on__overlap=lost)
    if user is not None:
        keys = keys.filter(user=user)
    for api_key in keys:
        api_key_revoke(api_key=api_key, actor=actor, lost=sorted(set(lost) & set(api_key.relies_on)))


def api_key_revoke(
    *, api_key: ApiKey, actor: User, because_of: ApiKey | None = None, lost: list[str] | None = None
) -> ApiKey:
    """Revoke the key and, with it, every key it created (and theirs)."""
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
        detail = {"name": api_key.name}
        if because_of is not None:
            detail["with_key"] = str(because_of.public_id)
        if lost:
            detail["lost"] = lost
        audit_record(
            action="api_key.revoked",
            actor=actor,
            target_type="api_key",
            target_id=str(api_key.public_id),
            detail=detail,
        )
    for created in api_key.created_keys.filter(revoked_at__isnull=True):
        api_key_revoke(api_key=created, actor=actor, because_of=api_key)
    return api_key


def api_key_verify(*, parts: ApiKeyParts) -> ApiKey | None:
    """The key in the current schema whose prefix and secret match, revoked or not; None otherwise."""
    api_key = ApiKey.objects.select_related("user").filter(prefix=parts.prefix).first()
    if api_key is None or not hmac.compare_digest(api_key.secret_hash, _secret_hash(parts.secret)):
        return None
    return api_key


def api_key_touch(*, api_key: ApiKey) -> None:
    now = timezone.now()
    if api_key.last_used_at is None or (now - api_key.last_used_at).total_seconds() > 60:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
