import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models


class Conversation(models.Model):
    """One user's conversation. The title is encrypted with the tenant's key (object id: public_id)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="conversations")
    title_encrypted = models.BinaryField()
    no_train = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["user", "-updated_at"], name="conversation_user_recent")]


class Message(models.Model):
    """A turn. Content is encrypted with the tenant's key (object id: public_id)."""

    class Role(models.TextChoices):
        USER = "user"
        ASSISTANT = "assistant"

    class Status(models.TextChoices):
        COMPLETE = "complete"
        INCOMPLETE = "incomplete"  # stopped by the user, or the model failed mid-answer
        FAILED = "failed"
        ABSTAINED = "abstained"  # nothing relevant enough was found: the assistant said so
        UNGROUNDED = "ungrounded"  # not from the documents, allowed by the tenant and labelled so
        REFUSED = "refused"  # the question or the answer broke the tenant's safety policy

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    role = models.CharField(max_length=16, choices=Role.choices)
    content_encrypted = models.BinaryField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.COMPLETE)
    error_code = models.CharField(max_length=40, blank=True)
    regenerated_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL)
    # Documents whose passages were in the model's context for this answer (null: not recorded, as for
    # answers stored before this was kept; the training gate treats that as ineligible).
    context_documents = ArrayField(models.UUIDField(), null=True, blank=True)
    # The most severe moderation decision other than "allow" (of the question or of the answer) and its
    # taxonomy category, in the clear for the dashboard: a category id says nothing of the content.
    moderation_action = models.CharField(max_length=8, blank=True)
    moderation_category = models.CharField(max_length=40, blank=True)
    experiment = models.ForeignKey("Experiment", null=True, blank=True, on_delete=models.SET_NULL)
    arm = models.CharField(max_length=16, blank=True)  # "control" or "treatment" of `experiment`
    # Sizes, not content, for comparing experiment arms: the model's time to first token, its tokens,
    # and the length of the shown answer.
    first_token_ms = models.PositiveIntegerField(null=True, blank=True)
    total_tokens = models.PositiveIntegerField(null=True, blank=True)
    content_chars = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["conversation", "created_at"], name="message_conversation_order")]


class Experiment(models.Model):
    """Two variants of the answer settings on live traffic: users are assigned to an arm by a hash of
    their id and the experiment's, so an arm is sticky across sessions. See chat/answer/arms.py."""

    class Status(models.TextChoices):
        DRAFT = "draft"
        RUNNING = "running"
        PROMOTED = "promoted"
        STOPPED = "stopped"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=100)
    control = models.JSONField()  # {"name": ..., "settings": {...}}
    treatment = models.JSONField()
    traffic_share = models.FloatField()  # of users in the treatment arm
    margin = models.FloatField(default=0.02)  # the safety regression the gate tolerates, as a share
    min_sample_size = models.PositiveIntegerField(default=0)  # answers per arm, computed when it starts
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    decision = models.JSONField(default=dict, blank=True)  # the gate's last numbers
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["status"], condition=models.Q(status="running"), name="experiment_one_running"
            )
        ]


class Citation(models.Model):
    """An [n] of an answer that survived verification, pointing at the passage that supports it."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="citations")
    number = models.PositiveSmallIntegerField()
    chunk_id = models.UUIDField()
    document_id = models.UUIDField()
    version = models.PositiveIntegerField()
    page = models.PositiveIntegerField(null=True, blank=True)
    section = models.CharField(max_length=500, blank=True)
    title = models.CharField(max_length=300, blank=True)
    quote = models.TextField()  # the supporting span of the passage (passages are plaintext in the schema too)
    support = models.FloatField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["message", "number"], name="citation_number_unique")]


class Trace(models.Model):
    """How an answer came about (query, candidates, prompt, citations kept and dropped, timings),
    encrypted as one JSON document with the tenant's key (object id: the message's public_id)."""

    message = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="trace")
    data_encrypted = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)


class Feedback(models.Model):
    """A user's thumbs up or down on an answer, with an optional reason and (encrypted) comment."""

    class Rating(models.IntegerChoices):
        UP = 1
        DOWN = -1

    class Reason(models.TextChoices):
        NONE = ""
        WRONG = "wrong"
        UNSUPPORTED = "unsupported"
        INCOMPLETE = "incomplete"
        IRRELEVANT = "irrelevant"
        HARMFUL = "harmful"
        OTHER = "other"

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="feedback")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    rating = models.SmallIntegerField(choices=Rating.choices)
    reason = models.CharField(max_length=16, choices=Reason.choices, blank=True)
    comment_encrypted = models.BinaryField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["message", "user"], name="feedback_one_per_user")]


class Preference(models.Model):
    """Of two answers to the same question (an answer and its regeneration), the one the user chose."""

    chosen = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="preferred_over")
    rejected = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="rejected_for")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["chosen", "rejected"], name="preference_pair_unique")]


class MemorySetting(models.Model):
    """Whether a user wants the assistant to remember things across conversations (off by default)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memory_setting")
    enabled = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)


class MemoryFact(models.Model):
    """Something a user asked the assistant to remember; encrypted (object id: public_id), theirs only."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memory_facts")
    content_encrypted = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)


class TrainingExport(models.Model):
    """A tenant's training export: SFT and preference JSONL (encrypted, object id: public_id + part)
    and its manifest. The ids it drew from let a later deletion remove the export with them."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    manifest = models.JSONField(default=dict)
    sft_encrypted = models.BinaryField()
    preferences_encrypted = models.BinaryField()
    conversation_ids = ArrayField(models.UUIDField(), default=list)
    document_ids = ArrayField(models.UUIDField(), default=list)
    user_ids = ArrayField(models.UUIDField(), default=list)
