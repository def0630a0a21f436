import uuid

from django.contrib.auth.models import AbstractUser
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone


class User(AbstractUser):
    """A person. In the public schema: an operator. In a tenant schema: that tenant's admin or member."""

    class Role(models.TextChoices):
        OPERATOR = "operator"
        ADMIN = "admin"
        MEMBER = "member"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    # The person's own no: nothing they wrote or were answered reaches a training export.
    training_opt_out = models.BooleanField(default=False)
    # "<issuer> <sub>" of this person at the tenant's identity provider, once they have signed in there.
    oidc_subject = models.CharField(max_length=600, null=True, blank=True, unique=True)

    @property
    def is_tenant_admin(self) -> bool:
        return self.role == self.Role.ADMIN


class Group(models.Model):
    """A set of users inside one tenant; the principal that document ACLs name."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=100, unique=True)
    description = models.CharField(max_length=300, blank=True)
    members = models.ManyToManyField(User, related_name="member_groups", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)


# What an API key may do: read (any GET), chat (ask, converse, memories, feedback), upload (documents),
# admin (a tenant admin's endpoints). A session is not limited by scopes; a key by its owner's role too.
SCOPES = ("read", "chat", "upload", "admin")
MEMBER_SCOPES = ("read", "chat", "upload")
# An operator's key: read (any GET of the operator API), admin (its changes, the training export
# included), metrics (GET /metrics only: the key a scrape configuration holds).
OPERATOR_SCOPES = ("read", "admin", "metrics")


def all_scopes() -> list[str]:
    return list(SCOPES)


class ApiKey(models.Model):
    """A user's API key. Only a SHA-256 of the secret is stored; the key is shown once."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    scopes = ArrayField(models.CharField(max_length=16), default=all_scopes)
    # The key that created this one, when a program made it with a key: revoking that key revokes this one.
    created_by_key = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="created_keys"
    )
    # For a person who signs in through the identity provider: what they held when the key was made
    # ("role:admin", "group:<id>"); losing any of it revokes the key.
    relies_on = ArrayField(models.CharField(max_length=64), default=list, blank=True)

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()


class AuditEvent(models.Model):
    """An append-only record of a security-relevant action in this schema. A flood (rejected API keys) is
    one entry per address and window whose `detail["count"]` grows (`audit.audit_repeat_record`)."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    action = models.CharField(max_length=64, db_index=True)
    outcome = models.CharField(max_length=16, default="success")
    actor_id = models.UUIDField(null=True, blank=True)
    actor_label = models.CharField(max_length=150, blank=True)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [models.Index(fields=["-created_at", "-id"], name="audit_recent")]


class IdentityProvider(models.Model):
    """The tenant's OpenID Connect provider; at most one row. Who signs in through it gets the role and
    the Enclave groups its claims map to, recomputed at every sign-in."""

    display_name = models.CharField(max_length=100, default="your company account")
    issuer = models.CharField(max_length=300)
    client_id = models.CharField(max_length=200)
    client_secret_encrypted = models.BinaryField()  # with the tenant's data key
    scopes = models.CharField(max_length=200, default="openid profile email groups")
    role_claim = models.CharField(max_length=64, default="role")
    role_map = models.JSONField(default=dict, blank=True)  # claim value -> "admin" | "member"
    groups_claim = models.CharField(max_length=64, default="groups")
    group_map = models.JSONField(default=dict, blank=True)  # IdP group -> Enclave group name
    passwords_enabled = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)
