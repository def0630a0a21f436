from rest_framework import parsers, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from core.api import CursorPagination, error_body
from ingestion import selectors, services
from ingestion.detect import MIME_TYPES
from tenants.accounts.base import TenantApi

UPLOAD_PARSERS = [parsers.MultiPartParser, parsers.FormParser]


class DocumentOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    title = serializers.CharField()
    filename = serializers.CharField()
    status = serializers.CharField()
    progress = serializers.IntegerField()
    error = serializers.CharField()
    acl = serializers.ListField(source="acl_principals")
    tags = serializers.ListField()
    no_train = serializers.BooleanField()
    current_version = serializers.IntegerField()
    latest_version = serializers.IntegerField()
    page_count = serializers.IntegerField()
    chunk_count = serializers.IntegerField()
    uploaded_by = serializers.UUIDField(source="uploaded_by.public_id", default=None)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class VersionOutputSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    sha256 = serializers.CharField()
    size_bytes = serializers.IntegerField()
    file_kind = serializers.CharField()
    mime_type = serializers.CharField()
    status = serializers.CharField()
    progress = serializers.IntegerField()
    error = serializers.CharField()
    attempts = serializers.IntegerField()
    page_count = serializers.IntegerField()
    chunk_count = serializers.IntegerField()
    embedding_model = serializers.CharField()
    created_at = serializers.DateTimeField()
    indexed_at = serializers.DateTimeField()


class AclInputSerializer(serializers.Serializer):
    """`everyone` (default when nothing is given), or any groups and users of this tenant."""

    everyone = serializers.BooleanField(required=False)
    groups = serializers.ListField(child=serializers.UUIDField(), required=False, default=list)
    users = serializers.ListField(child=serializers.UUIDField(), required=False, default=list)

    def principals(self) -> list[str]:
        data = self.validated_data
        everyone = data.get("everyone", not (data["groups"] or data["users"]))
        try:
            return services.acl_principals_build(everyone=everyone, group_ids=data["groups"], user_ids=data["users"])
        except services.AclError as exc:
            raise ValidationError({"acl": [str(exc)]}) from exc


def _acl_from_form(request) -> list[str]:
    raw = {"groups": request.data.getlist("groups"), "users": request.data.getlist("users")}
    if "everyone" in request.data:
        raw["everyone"] = request.data.get("everyone")
    serializer = AclInputSerializer(data=raw)
    serializer.is_valid(raise_exception=True)
    return serializer.principals()


def _tags_from_form(request) -> list[str]:
    serializer = TagsSerializer(data={"tags": request.data.getlist("tags")})
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data["tags"]


class TagsSerializer(serializers.Serializer):
    tags = serializers.ListField(child=serializers.CharField(max_length=100), max_length=50, default=list)


def _files(request) -> list:
    files = request.FILES.getlist("files") or request.FILES.getlist("file")
    if not files:
        raise ValidationError({"files": ["Attach one or more files as multipart field `files`."]})
    return files


class DocumentPagination(CursorPagination):
    ordering = ("-created_at", "-id")


class DocumentListApi(TenantApi):
    write_scope = "upload"

    parser_classes = [*UPLOAD_PARSERS, parsers.JSONParser]

    class FilterSerializer(serializers.Serializer):
        status = serializers.ChoiceField(
            choices=[s for s, _ in selectors.IngestionStatus.choices], required=False, allow_blank=True
        )
        q = serializers.CharField(max_length=200, required=False, allow_blank=True)
        tag = serializers.CharField(max_length=100, required=False, allow_blank=True)
        kind = serializers.ChoiceField(choices=sorted(MIME_TYPES), required=False, allow_blank=True)
        ids = serializers.CharField(required=False)

    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        given = filters.validated_data
        documents = selectors.document_filter(
            selectors.document_list_for_user(user=request.user, principals=self.principals),
            text=given.get("q", "").strip(),
            status=given.get("status", ""),
            tag=given.get("tag", ""),
            kind=given.get("kind", ""),
        )
        if given.get("ids"):
            ids = [item for item in given["ids"].split(",") if item][:100]
            documents = documents.filter(public_id__in=_uuids(ids))
        paginator = DocumentPagination()
        page = paginator.paginate_queryset(documents, request, view=self)
        return paginator.get_paginated_response(DocumentOutputSerializer(page, many=True).data)

    def post(self, request):
        uploads = _files(request)  # first: a JSON body has no files (and no form lists)
        acl = _acl_from_form(request)
        tags = _tags_from_form(request)
        accepted, rejected = [], []
        for upload in uploads:
            try:
                services.upload_size_check(size=upload.size)
                outcome = services.document_upload(
                    tenant=self.tenant,
                    user=request.user,
                    filename=upload.name,
                    data=upload.read(),
                    acl_principals=acl,
                    tags=tags,
                )
            except services.UploadRejected as exc:
                rejected.append(_rejection(upload.name, exc.code, str(exc)))
                continue
            accepted.append(DocumentOutputSerializer(outcome.document).data)
        code = status.HTTP_201_CREATED if accepted else status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
        if not accepted and all(item["code"] != "file_too_large" for item in rejected):
            code = status.HTTP_507_INSUFFICIENT_STORAGE
        return Response({"documents": accepted, "rejected": rejected}, status=code)


def _rejection(filename: str, code: str, message: str) -> dict:
    return {"filename": services.filename_clean(filename), **error_body(code=code, message=message)["error"]}


def _uuids(values: list[str]) -> list[str]:
    serializer = serializers.ListField(child=serializers.UUIDField())
    try:
        return serializer.run_validation(values)
    except ValidationError as exc:
        raise ValidationError({"ids": ["ids must be comma-separated document ids"]}) from exc


class DocumentDetailApi(TenantApi):
    write_scope = "upload"

    class InputSerializer(serializers.Serializer):
        title = serializers.CharField(max_length=300, required=False)
        acl = AclInputSerializer(required=False)
        tags = serializers.ListField(child=serializers.CharField(max_length=100), max_length=50, required=False)
        no_train = serializers.BooleanField(required=False)

    def get(self, request, document_id):
        document = selectors.document_get_for_user(user=request.user, principals=self.principals, public_id=document_id)
        data = DocumentOutputSerializer(document).data
        data["versions"] = VersionOutputSerializer(selectors.document_versions(document=document), many=True).data
        return Response(data)

    def patch(self, request, document_id):
        document = selectors.document_get_for_manager(
            user=request.user, principals=self.principals, public_id=document_id
        )
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        given = serializer.validated_data
        changes = {key: given[key] for key in ("title", "tags", "no_train") if key in given}
        if "acl" in serializer.validated_data:
            acl = AclInputSerializer(data=request.data["acl"])
            acl.is_valid(raise_exception=True)
            changes["acl_principals"] = acl.principals()
        document = services.document_update(tenant=self.tenant, document=document, actor=request.user, **changes)
        return Response(DocumentOutputSerializer(document).data)

    def delete(self, request, document_id):
        document = selectors.document_get_for_manager(
            user=request.user, principals=self.principals, public_id=document_id
        )
        return Response(
            {"receipt": services.document_delete(tenant=self.tenant, document=document, actor=request.user)}
        )


class DocumentVersionListApi(TenantApi):
    write_scope = "upload"

    parser_classes = UPLOAD_PARSERS

    def post(self, request, document_id):
        document = selectors.document_get_for_manager(
            user=request.user, principals=self.principals, public_id=document_id
        )
        upload = _files(request)[0]
        services.upload_size_check(size=upload.size)
        outcome = services.document_upload(
            tenant=self.tenant, user=request.user, filename=upload.name, data=upload.read(), document=document
        )
        data = DocumentOutputSerializer(outcome.document).data
        data["unchanged"] = outcome.unchanged
        return Response(data, status=status.HTTP_200_OK if outcome.unchanged else status.HTTP_201_CREATED)


class DocumentReingestApi(TenantApi):
    write_scope = "upload"

    def post(self, request, document_id):
        document = selectors.document_get_for_manager(
            user=request.user, principals=self.principals, public_id=document_id
        )
        services.document_reingest(tenant=self.tenant, document=document, actor=request.user)
        document = selectors.document_get_for_user(user=request.user, principals=self.principals, public_id=document_id)
        return Response(DocumentOutputSerializer(document).data, status=status.HTTP_202_ACCEPTED)


class IngestionQueueApi(TenantApi):
    def get(self, request):
        return Response(selectors.ingestion_queue(user=request.user, principals=self.principals))
