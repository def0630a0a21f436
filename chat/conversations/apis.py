from django_tenants.utils import schema_context
from rest_framework import serializers, status
from rest_framework.response import Response

from chat.answer import Turn, answer_collect, answer_events, collected_status
from chat.conversations import retention, selectors, services, trace_access, transcripts
from chat.conversations.sse import stream_response
from chat.models import Feedback
from core.api import CursorPagination
from tenants import selectors as tenant_selectors
from tenants.accounts.base import OperatorApi, TenantAdminApi, TenantApi


class ConversationPagination(CursorPagination):
    ordering = ("-updated_at", "-id")


def _messages_data(api, messages) -> list[dict]:
    return transcripts.messages_data(tenant=api.tenant, principals=api.principals, messages=messages)


class TitleSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class ConversationChangeSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200, required=False, allow_blank=True)
    no_train = serializers.BooleanField(required=False)


class ConversationListApi(TenantApi):
    def get(self, request):
        paginator = ConversationPagination()
        page = paginator.paginate_queryset(selectors.conversation_list(user=request.user), request, view=self)
        return paginator.get_paginated_response([transcripts.conversation_data(self.tenant, c) for c in page])

    def post(self, request):
        serializer = TitleSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        conversation = services.conversation_create(
            tenant=self.tenant, user=request.user, title=serializer.validated_data["title"]
        )
        return Response(transcripts.conversation_data(self.tenant, conversation), status=status.HTTP_201_CREATED)


class ConversationExportApi(TenantApi):
    """All of the caller's conversations as one JSON download."""

    def get(self, request):
        export = transcripts.my_conversations_export(tenant=self.tenant, user=request.user, principals=self.principals)
        filename = f"conversations-{request.user.username}-{export['exported_at'][:10]}.json"
        return Response(export, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


class ConversationDetailApi(TenantApi):
    def get(self, request, conversation_id):
        conversation = selectors.conversation_get(user=request.user, public_id=conversation_id)
        data = transcripts.conversation_data(self.tenant, conversation)
        data["messages"] = _messages_data(self, selectors.messages_of(conversation=conversation))
        return Response(data)

    def patch(self, request, conversation_id):
        conversation = selectors.conversation_get(user=request.user, public_id=conversation_id)
        serializer = ConversationChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        if "title" in serializer.validated_data:
            conversation = services.conversation_rename(
                tenant=self.tenant, conversation=conversation, title=serializer.validated_data["title"]
            )
        if "no_train" in serializer.validated_data:
            services.conversation_no_train_set(
                tenant=self.tenant,
                conversation=conversation,
                no_train=serializer.validated_data["no_train"],
                actor=request.user,
            )
        return Response(transcripts.conversation_data(self.tenant, conversation))

    def delete(self, request, conversation_id):
        conversation = selectors.conversation_get(user=request.user, public_id=conversation_id)
        receipt = services.conversation_delete(tenant=self.tenant, conversation=conversation, actor=request.user)
        return Response({"receipt": receipt})


class MessageListApi(TenantApi):
    """POST a question: the answer streams as server-sent events (`stream: true`, the default) or
    comes back as one JSON object with the sources and the verified answer."""

    class InputSerializer(serializers.Serializer):
        content = serializers.CharField(max_length=4000)
        stream = serializers.BooleanField(default=True)

    def get(self, request, conversation_id):
        conversation = selectors.conversation_get(user=request.user, public_id=conversation_id)
        return Response(_messages_data(self, selectors.messages_of(conversation=conversation)))

    def post(self, request, conversation_id):
        conversation = selectors.conversation_get(user=request.user, public_id=conversation_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        turn = Turn(
            tenant=self.tenant,
            conversation=conversation,
            user=request.user,
            principals=self.principals,
            question=serializer.validated_data["content"],
        )
        return _answer_response(turn, stream=serializer.validated_data["stream"])


def _answer_response(turn: Turn, *, stream: bool):
    if stream:
        return stream_response(turn.tenant, answer_events(turn))
    collected = answer_collect(answer_events(turn))
    status, headers = collected_status(collected)
    return Response(collected, status=status, headers=headers)


class RegenerateApi(TenantApi):
    """Answer the same question again; the new answer is linked to the old one for a preference."""

    class InputSerializer(serializers.Serializer):
        stream = serializers.BooleanField(default=True)

    def post(self, request, message_id):
        answer = selectors.message_get_for_owner(user=request.user, public_id=message_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        original = answer.regenerated_from or answer
        turn = Turn(
            tenant=self.tenant,
            conversation=answer.conversation,
            user=request.user,
            principals=self.principals,
            question=selectors.question_of(tenant=self.tenant, answer=answer),
            regenerate_of=original,
        )
        return _answer_response(turn, stream=serializer.validated_data["stream"])


class FeedbackApi(TenantApi):
    class InputSerializer(serializers.Serializer):
        rating = serializers.ChoiceField(choices=["up", "down"])
        reason = serializers.ChoiceField(choices=[r for r, _ in Feedback.Reason.choices], default="")
        comment = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")

    def post(self, request, message_id):
        message = selectors.message_get_for_owner(user=request.user, public_id=message_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        feedback = services.feedback_give(
            tenant=self.tenant,
            message=message,
            user=request.user,
            rating=Feedback.Rating.UP if data["rating"] == "up" else Feedback.Rating.DOWN,
            reason=data["reason"],
            comment=data["comment"],
        )
        return Response({"message": str(message.public_id), "rating": data["rating"], "reason": feedback.reason})


class PreferenceApi(TenantApi):
    class InputSerializer(serializers.Serializer):
        over = serializers.UUIDField()

    def post(self, request, message_id):
        chosen = selectors.message_get_for_owner(user=request.user, public_id=message_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        rejected = selectors.message_get_for_owner(user=request.user, public_id=serializer.validated_data["over"])
        services.preference_give(chosen=chosen, rejected=rejected, user=request.user)
        return Response({"chosen": str(chosen.public_id), "rejected": str(rejected.public_id)})


class TraceApi(TenantAdminApi):
    """How an answer came about, for a tenant admin diagnosing it: retrieval, reranking or generation."""

    def get(self, request, message_id):
        message = selectors.message_get_for_admin(public_id=message_id)
        return Response(
            transcripts.trace_for_admin(
                tenant=self.tenant, message=message, actor=request.user, principals=self.principals
            )
        )


class ChatSettingsApi(TenantAdminApi):
    """The tenant's answer policy: whether to answer from the model's own knowledge when the
    documents hold nothing relevant (off by default; such answers are labelled and never cited), and
    whether admins may read answer traces, which hold members' questions and answers (off by default;
    one admin turning it on only asks: it opens when a second admin or an operator agrees,
    chat/conversations/trace_access.py)."""

    class InputSerializer(serializers.Serializer):
        allow_ungrounded_answers = serializers.BooleanField(required=False)
        admin_reads_traces = serializers.BooleanField(required=False)

    def _data(self) -> dict:
        state = trace_access.trace_access_state(tenant=self.tenant)
        return {
            "allow_ungrounded_answers": self.tenant.allow_ungrounded_answers,
            "admin_reads_traces": state["admin_reads_traces"],
            "trace_access_requested_by": state["trace_access_requested_by"],
        }

    def get(self, request):
        return Response(self._data())

    def patch(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        changes = serializer.validated_data
        if "allow_ungrounded_answers" in changes:
            services.ungrounded_answers_set(
                tenant=self.tenant, allowed=changes["allow_ungrounded_answers"], actor=request.user
            )
        if "admin_reads_traces" in changes:
            trace_access.trace_access_set(tenant=self.tenant, allowed=changes["admin_reads_traces"], actor=request.user)
        return Response(self._data())


class OperatorTraceAccessApi(OperatorApi):
    """An operator opens a tenant's answer traces to its admins (the second person an admin's request
    needs) or closes them. The operator never reads a trace."""

    class InputSerializer(serializers.Serializer):
        admin_reads_traces = serializers.BooleanField()

    def get(self, request, tenant_id):
        tenant = tenant_selectors.tenant_get(tenant_id=tenant_id)
        with schema_context(tenant.schema_name):
            return Response(trace_access.trace_access_state(tenant=tenant))

    def put(self, request, tenant_id):
        tenant = tenant_selectors.tenant_get(tenant_id=tenant_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response(
            trace_access.trace_access_set_by_operator(
                tenant=tenant, allowed=serializer.validated_data["admin_reads_traces"], actor=request.user
            )
        )


class RetentionSettingsApi(TenantAdminApi):
    """How long conversations and traces are kept (null: for ever); the scheduled task deletes older ones."""

    class InputSerializer(serializers.Serializer):
        conversation_days = serializers.IntegerField(min_value=1, max_value=36500, allow_null=True)
        trace_days = serializers.IntegerField(min_value=1, max_value=36500, allow_null=True)

    def get(self, request):
        return Response(
            {
                "conversation_days": self.tenant.conversation_retention_days,
                "trace_days": self.tenant.trace_retention_days,
            }
        )

    def put(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response(
            retention.retention_periods_set(
                tenant=self.tenant,
                conversation_days=serializer.validated_data["conversation_days"],
                trace_days=serializer.validated_data["trace_days"],
                actor=request.user,
            )
        )
