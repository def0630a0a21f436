from django.http import Http404
from django_tenants.utils import schema_context
from rest_framework import serializers, status
from rest_framework.response import Response

from alignment import services
from alignment.models import AlignmentRun
from alignment.recipe import recipe_from
from inference import adapters
from inference.models import Adapter
from tenants import selectors as tenant_selectors
from tenants.accounts.base import OperatorApi, TenantAdminApi


def run_data(run: AlignmentRun) -> dict:
    return {
        "id": str(run.public_id),
        "name": run.name,
        "status": run.status,
        "progress": run.progress,
        "metrics": run.metrics,
        "error": run.error,
        "adapter": run.adapter_name or None,
        "evaluation_run": str(run.evaluation_run_id) if run.evaluation_run_id else None,
        "recipe": run.recipe,
        "requested_by": run.requested_by,
        "created_at": run.created_at.isoformat(),
        "started_at": run.started_at.isoformat() if run.started_at else None,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
    }


def adapter_data(adapter: Adapter) -> dict:
    return {
        "id": str(adapter.public_id),
        "name": adapter.name,
        "label": adapter.label,
        "status": adapter.status,
        "served": adapter.status == Adapter.Status.ACTIVE and adapter.name in adapters.engine_ids(),
        "public_data_only": adapter.public_data_only,
        "run": str(adapter.run_id) if adapter.run_id else None,
        "card": adapter.card,
        "created_at": adapter.created_at.isoformat(),
        "retired_at": adapter.retired_at.isoformat() if adapter.retired_at else None,
        "retired_reason": adapter.retired_reason,
    }


def _run_get(run_id) -> AlignmentRun:
    run = AlignmentRun.objects.filter(public_id=run_id).first()
    if run is None:
        raise Http404
    return run


def _adapter_get(adapter_id) -> Adapter:
    adapter = Adapter.objects.filter(public_id=adapter_id).first()
    if adapter is None:
        raise Http404
    return adapter


class OperatorAlignmentRunListApi(OperatorApi):
    """A tenant's alignment runs; POST {"recipe": {...}} starts one on one of the tenant's training exports."""

    class InputSerializer(serializers.Serializer):
        recipe = serializers.DictField()

    def get(self, request, tenant_id):
        tenant = tenant_selectors.tenant_get(tenant_id=tenant_id)
        with schema_context(tenant.schema_name):
            return Response({"results": [run_data(run) for run in AlignmentRun.objects.all()[:100]]})

    def post(self, request, tenant_id):
        tenant = tenant_selectors.tenant_get(tenant_id=tenant_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        recipe = recipe_from(serializer.validated_data["recipe"])
        with schema_context(tenant.schema_name):
            run = services.run_create(tenant=tenant, recipe=recipe, requested_by=request.user.username)
            services.run_enqueue(tenant=tenant, run=run)
            return Response(run_data(run), status=status.HTTP_201_CREATED)


class OperatorAlignmentRunDetailApi(OperatorApi):
    def get(self, request, tenant_id, run_id):
        tenant = tenant_selectors.tenant_get(tenant_id=tenant_id)
        with schema_context(tenant.schema_name):
            return Response(run_data(_run_get(run_id)))


class AlignmentRunListApi(TenantAdminApi):
    """Runs on this tenant's data, for its admins to see what was trained and on what."""

    def get(self, request):
        return Response({"results": [run_data(run) for run in AlignmentRun.objects.all()[:100]]})


class AdapterListApi(TenantAdminApi):
    def get(self, request):
        return Response({"results": [adapter_data(a) for a in Adapter.objects.order_by("-created_at")[:100]]})


class AdapterDetailApi(TenantAdminApi):
    def get(self, request, adapter_id):
        return Response(adapter_data(_adapter_get(adapter_id)))

    def delete(self, request, adapter_id):
        adapter = _adapter_get(adapter_id)
        if adapter.status != Adapter.Status.ACTIVE:
            return Response({"receipt": {"adapter": adapter.name, "already_retired_at": adapter.retired_at}})
        return Response({"receipt": services.adapter_retire_by_admin(adapter=adapter, actor=request.user)})
