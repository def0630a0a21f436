from django.http import Http404, HttpResponse
from rest_framework import serializers, status
from rest_framework.response import Response

from chat.models import TrainingExport
from chat.training import services
from tenants.accounts.base import OperatorApi, TenantAdminApi


def _export_data(export: TrainingExport) -> dict:
    return {
        "id": str(export.public_id),
        "created_at": export.created_at.isoformat(),
        "created_by": str(export.created_by.public_id) if export.created_by else None,
        "manifest": export.manifest,
        "files": [f"{part}" for part in services.PARTS],
    }


def export_get(export_id) -> TrainingExport:
    export = TrainingExport.objects.filter(public_id=export_id).select_related("created_by").first()
    if export is None:
        raise Http404
    return export


class TrainingConsentApi(TenantAdminApi):
    class InputSerializer(serializers.Serializer):
        training_consent = serializers.BooleanField()

    def get(self, request):
        return Response(
            {
                "training_consent": self.tenant.training_consent,
                "changed_at": self.tenant.training_consent_changed_at,
            }
        )

    def patch(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        outcome = services.tenant_consent_set(
            tenant=self.tenant, consent=serializer.validated_data["training_consent"], actor=request.user
        )
        return Response(outcome)


class TrainingExportListApi(TenantAdminApi):
    def get(self, request):
        exports = TrainingExport.objects.select_related("created_by").order_by("-created_at")[:100]
        return Response({"results": [_export_data(export) for export in exports]})

    def post(self, request):
        export = services.export_create(tenant=self.tenant, actor=request.user)
        return Response(_export_data(export), status=status.HTTP_201_CREATED)


class TrainingExportDetailApi(TenantAdminApi):
    def get(self, request, export_id):
        return Response(_export_data(export_get(export_id)))

    def delete(self, request, export_id):
        return Response({"receipt": services.export_delete(export=export_get(export_id), actor=request.user)})


class TrainingExportFileApi(TenantAdminApi):
    def get(self, request, export_id, part):
        if part not in services.PARTS:
            raise Http404
        data = services.export_part(tenant=self.tenant, export=export_get(export_id), part=part)
        response = HttpResponse(data, content_type="application/jsonl")
        response["Content-Disposition"] = f'attachment; filename="{part}"'
        return response


class OperatorTrainingExportApi(OperatorApi):
    """Every consenting tenant's rows, labelled with the tenant; built on request and not stored."""

    def post(self, request):
        return Response(services.operator_export(actor_label=request.user.username))
