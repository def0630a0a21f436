from rest_framework import serializers, status
from rest_framework.response import Response

from chat import selectors, services
from chat.answer import Turn, answer_events
from chat.sse import stream_response
from config.api import CursorPagination
from tenants.accounts.base import TenantApi


class ConversationPagination(CursorPagination):
    ordering = ("-updated_at", "-id")


def _conversation_data(tenant, conversation) -> dict:
    return {
        "id": str(conversation.public_id),
        "title": selectors.conversation_title(tenant=tenant, conversation=conversation),
        "created_at": conversation.created_at.isoformat(),
        "updated_at": conversation.updated_at.isoformat(),
    }


def _message_data(tenant, message) -> dict:
    return {
        "id": str(message.public_id),
        "role": message.role,
        "status": message.status,
        "content": selectors.message_content(tenant=tenant, message=message),
        "citations": [
            {
                "number": c.number,
                "chunk_id": str(c.chunk_id),
                "document_id": str(c.document_id),
                "version": c.version,
                "page": c.page,
                "section": c.section,
                "title": c.title,
                "quote": c.quote,
            }
            for c in message.citations.all()
        ],
        "created_at": message.created_at.isoformat(),
    }


class TitleSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class ConversationListApi(TenantApi):
    def get(self, request):
        paginator = ConversationPagination()
        page = paginator.paginate_queryset(selectors.conversation_list(user=request.user), request, view=self)
        return paginator.get_paginated_response([_conversation_data(self.tenant, c) for c in page])

    def post(self, request):
        serializer = TitleSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        conversation = services.conversation_create(
            tenant=self.tenant, user=request.user, title=serializer.validated_data["title"]
        )
        return Response(_conversation_data(self.tenant, conversation), status=status.HTTP_201_CREATED)


class ConversationDetailApi(TenantApi):
    def get(self, request, conversation_id):
        conversation = selectors.conversation_get(user=request.user, public_id=conversation_id)
        data = _conversation_data(self.tenant, conversation)
        data["messages"] = [_message_data(self.tenant, m) for m in selectors.messages_of(conversation=conversation)]
        return Response(data)

    def patch(self, request, conversation_id):
        conversation = selectors.conversation_get(user=request.user, public_id=conversation_id)
        serializer = TitleSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        conversation = services.conversation_rename(
            tenant=self.tenant, conversation=conversation, title=serializer.validated_data["title"]
        )
        return Response(_conversation_data(self.tenant, conversation))

    def delete(self, request, conversation_id):
        conversation = selectors.conversation_get(user=request.user, public_id=conversation_id)
        return Response({"receipt": services.conversation_delete(conversation=conversation)})


class MessageListApi(TenantApi):
    """POST a question: the answer streams as server-sent events (`stream: true`, the default) or
    comes back as one JSON object with the sources and the verified answer."""

    class InputSerializer(serializers.Serializer):
        content = serializers.CharField(max_length=4000)
        stream = serializers.BooleanField(default=True)

    def get(self, request, conversation_id):
        conversation = selectors.conversation_get(user=request.user, public_id=conversation_id)
        return Response([_message_data(self.tenant, m) for m in selectors.messages_of(conversation=conversation)])

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
        if serializer.validated_data["stream"]:
            return stream_response(self.tenant, answer_events(turn))
        events = list(answer_events(turn))
        answer = next(event["data"] for event in events if event["event"] == "message")
        sources = next(event["data"] for event in events if event["event"] == "sources")
        error = next((event["data"] for event in events if event["event"] == "error"), None)
        return Response({"message": answer, "sources": sources, "error": error})
