"""Reads, always scoped to the schema the connection is on (the caller's tenant)."""

from django.db.models import Count, QuerySet
from django.http import Http404

from tenants.accounts.models import ApiKey, AuditEvent, Group, User

EVERYONE = "tenant:everyone"


def user_principals(*, user: User) -> list[str]:
    """The ACL principals a user holds: everyone in the tenant, the user, and each of their groups."""
    group_ids = Group.objects.filter(members=user).values_list("public_id", flat=True)
    return [EVERYONE, f"user:{user.public_id}", *(f"group:{group_id}" for group_id in group_ids)]


def user_list() -> QuerySet[User]:
    return User.objects.prefetch_related("member_groups").order_by("username")


def user_get(*, public_id) -> User:
    user = User.objects.prefetch_related("member_groups").filter(public_id=public_id).first()
    if user is None:
        raise Http404
    return user


def operator_list() -> QuerySet[User]:
    return User.objects.filter(role=User.Role.OPERATOR).order_by("username")


def operator_get(*, public_id) -> User:
    user = operator_list().filter(public_id=public_id).first()
    if user is None:
        raise Http404
    return user


def group_list() -> QuerySet[Group]:
    return Group.objects.annotate(member_count=Count("members")).order_by("name")


def group_get(*, public_id) -> Group:
    group = group_list().filter(public_id=public_id).first()
    if group is None:
        raise Http404
    return group


def _manages_every_key(*, user: User, with_key: ApiKey | None) -> bool:
    """A tenant admin, in a session or with a key that holds the "admin" scope."""
    return user.is_tenant_admin and (with_key is None or "admin" in with_key.scopes)


def api_key_list_for_user(*, user: User, all_users: bool = False, with_key: ApiKey | None = None) -> QuerySet[ApiKey]:
    keys = ApiKey.objects.select_related("user").order_by("-created_at")
    if all_users and _manages_every_key(user=user, with_key=with_key):
        return keys
    return keys.filter(user=user)


def api_key_get_for_user(*, user: User, public_id, with_key: ApiKey | None = None) -> ApiKey:
    """A key the caller may manage: their own, or any key in the tenant for a tenant admin (with a key,
    one holding the "admin" scope)."""
    keys = ApiKey.objects.select_related("user").filter(public_id=public_id)
    if not _manages_every_key(user=user, with_key=with_key):
        keys = keys.filter(user=user)
    api_key = keys.first()
    if api_key is None:
        raise Http404
    return api_key


def audit_event_list(*, action: str | None = None, actor_id=None) -> QuerySet[AuditEvent]:
    events = AuditEvent.objects.all()
    if action:
        events = events.filter(action=action)
    if actor_id:
        events = events.filter(actor_id=actor_id)
    return events


def audit_actions() -> list[str]:
    return list(AuditEvent.objects.order_by("action").values_list("action", flat=True).distinct())


def people_names() -> list[str]:
    """Names that identify the tenant's people (first, last, full, user name, e-mail local part), longest first,
    for PII redaction."""
    names = set()
    for first, last, username, email in User.objects.values_list("first_name", "last_name", "username", "email"):
        names.update(value for value in (first, last, f"{first} {last}".strip(), username) if value)
        if email:
            names.add(email.split("@")[0])
    return sorted(names, key=len, reverse=True)


def people_training_consent() -> QuerySet:
    """Every person's pk, public id and training opt-out: a subquery for the training gate's one statement."""
    return User.objects.order_by().values("id", "public_id", "training_opt_out")
