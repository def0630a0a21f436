"""POST /v1/chat/completions: the appliance as a grounded model for OpenAI clients.

Authenticated by a tenant API key (`api_key=` in the official client; `base_url=<host>/v1`). The
last user message is the question, earlier turns are its history; each call is stored as a new
conversation of the key's user. The answer is the verified one; the extra fields `sources` and
`citations` (and `enclave`) carry the passages. When streaming, deltas are the draft as generated;
the last chunk carries `enclave.final_content`, the sources and `usage`. Deltas are the verified
sentences only: a sentence no passage supports never reaches the client. `GET /v1/models` lists the
one answer model, so clients that list models before they ask work unchanged.
"""

import json
import time

from django.http import Http404
from rest_framework import serializers
from rest_framework.response import Response

from chat.answer import Turn, answer_collect, answer_events, collected_status
from chat.conversations import services
from chat.conversations.sse import stream_response
from tenants.accounts.base import TenantApi

MODEL = "enclave-grounded"
MODEL_CREATED = 1764460800  # 2025-11-30, when the grounded answer model got this name
FINISH = {
    "complete": "stop",
    "abstained": "stop",
    "ungrounded": "stop",
    "incomplete": "length",
    "failed": "error",
    "refused": "content_filter",  # what OpenAI clients expect when moderation withheld the answer
}


class OpenAiMessage(serializers.Serializer):
    role = serializers.ChoiceField(choices=["system", "user", "assistant"])
    content = serializers.CharField(max_length=8000, allow_blank=True)


class CompletionRequest(serializers.Serializer):
    messages = OpenAiMessage(many=True, min_length=1, max_length=50)
    stream = serializers.BooleanField(default=False)
    model = serializers.CharField(required=False, allow_blank=True)

    def validate_messages(self, messages):
        if messages[-1]["role"] != "user" or not messages[-1]["content"].strip():
            raise serializers.ValidationError("the last message must be a non-empty user message")
        return messages


def _chunk(completion_id: str, created: int, delta: dict, finish=None, **extra) -> str:
    body = {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": MODEL,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        **extra,
    }
    return f"data: {json.dumps(body)}\n\n"


class ChatCompletionsApi(TenantApi):
    def post(self, request):
        serializer = CompletionRequest(data=request.data)
        serializer.is_valid(raise_exception=True)
        messages = serializer.validated_data["messages"]
        question = messages[-1]["content"]
        history = [m for m in messages[:-1] if m["role"] in ("user", "assistant")]
        conversation = services.conversation_create(tenant=self.tenant, user=request.user, title=question[:80])
        turn = Turn(self.tenant, conversation, request.user, self.principals, question, history=history)
        completion_id, created = f"chatcmpl-{conversation.public_id.hex}", int(time.time())
        if serializer.validated_data["stream"]:
            return stream_response(
                self.tenant,
                answer_events(turn),
                encode=self._encoder(completion_id, created),
                closing="data: [DONE]\n\n",
            )
        collected = answer_collect(answer_events(turn))
        message, sources = collected["message"], collected["sources"]
        status, headers = collected_status(collected)
        return Response(
            {
                "id": completion_id,
                "object": "chat.completion",
                "created": created,
                "model": MODEL,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": message["text"]},
                        "finish_reason": FINISH[message["status"]],
                    }
                ],
                "usage": message["usage"],
                "sources": sources,
                "citations": message["citations"],
                "enclave": {"status": message["status"], "conversation": str(conversation.public_id)},
            },
            status=status,
            headers=headers,
        )

    @staticmethod
    def _encoder(completion_id: str, created: int):
        state = {"sources": [], "streamed": ""}

        def encode(event: dict) -> str:
            kind, data = event["event"], event["data"]
            if kind == "sources":
                state["sources"] = data
                return _chunk(completion_id, created, {"role": "assistant"})
            if kind == "token":
                state["streamed"] += data["text"]
                return _chunk(completion_id, created, {"content": data["text"]})
            if kind == "message":
                # what the stored answer adds to the draft (a caution note, the withheld notice) and an answer
                # nobody streamed (abstention, refusal, tool, memory) still reach clients that read deltas
                final, streamed = data["text"], state["streamed"]
                rest = final[len(streamed) :] if final.startswith(streamed) else ("" if streamed else final)
                text = _chunk(completion_id, created, {"content": rest}) if rest else ""
                return text + _chunk(
                    completion_id,
                    created,
                    {},
                    FINISH[data["status"]],
                    usage=data["usage"],
                    sources=state["sources"],
                    citations=data["citations"],
                    enclave={"status": data["status"], "final_content": data["text"]},
                )
            if kind == "error":
                return f"data: {json.dumps({'error': data})}\n\n"
            return ""  # provisional citation checks and tool calls have no OpenAI chunk

        return encode


def _model() -> dict:
    return {"id": MODEL, "object": "model", "created": MODEL_CREATED, "owned_by": "enclave"}


class ModelListApi(TenantApi):
    def get(self, request):
        return Response({"object": "list", "data": [_model()]})


class ModelDetailApi(TenantApi):
    def get(self, request, model_id: str):
        if model_id != MODEL:
            raise Http404
        return Response(_model())
