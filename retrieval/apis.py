from rest_framework import serializers
from rest_framework.response import Response

from retrieval import rerank
from retrieval.filters import filters_parse
from retrieval.search import MAX_POOL, MAX_QUERY_CHARS, MODES, Passage, search
from tenants.accounts.base import TenantApi

MAX_PAGE_SIZE = 50


class TurnSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=["user", "assistant"])
    content = serializers.CharField(max_length=8000)


class SearchInputSerializer(serializers.Serializer):
    query = serializers.CharField(max_length=MAX_QUERY_CHARS)
    history = TurnSerializer(many=True, required=False, default=list, max_length=20)
    filters = serializers.JSONField(required=False, default=None)
    mode = serializers.ChoiceField(choices=MODES, default="hybrid")
    reranker = serializers.ChoiceField(choices=rerank.known(), required=False)
    diversify = serializers.BooleanField(default=False)
    page = serializers.IntegerField(min_value=1, default=1)
    page_size = serializers.IntegerField(min_value=1, max_value=MAX_PAGE_SIZE, default=10)

    def validate(self, data):
        if data["page"] * data["page_size"] > MAX_POOL:
            raise serializers.ValidationError(f"search returns at most the best {MAX_POOL} passages")
        return data


def _passage_data(passage: Passage) -> dict:
    return {
        "id": passage.chunk_id,
        "document": {
            "id": passage.document_id,
            "title": passage.title,
            "filename": passage.filename,
            "file_type": passage.file_type,
            "tags": passage.tags,
        },
        "version": passage.version,
        "page": passage.page,
        "section": passage.section,
        "text": passage.text,
        "scores": passage.scores,
        "highlights": passage.highlights,
    }


class SearchApi(TenantApi):
    """Passages the caller may read that answer a query, best first, a page at a time.

    Timings stay out of the response: how long the ACL-filtered scan took could hint at how many
    hidden chunks lie near the query. Traces keep them for admins.
    """

    InputSerializer = SearchInputSerializer

    write_scope = "read"  # a search changes nothing

    def post(self, request):
        serializer = SearchInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        filters = filters_parse(data["filters"])
        page, size = data["page"], data["page_size"]
        outcome = search(
            data["query"],
            principals=self.principals,
            filters=filters,
            history=data["history"],
            mode=data["mode"],
            reranker=data.get("reranker"),
            diversify=data["diversify"],
            limit=size,
            offset=(page - 1) * size,
        )
        return Response(
            {
                "query": outcome.query.original,
                "standalone_query": outcome.query.standalone,
                "condensed_by": outcome.query.method,
                "mode": outcome.mode,
                "reranker": outcome.reranker,
                "count": outcome.total,
                "page": page,
                "page_size": size,
                "next_page": page + 1 if page * size < outcome.total else None,
                "results": [_passage_data(passage) for passage in outcome.passages],
            }
        )
