"""Experiments for tenant admins: define a control and a treatment, start (offline safety gate), watch the
arms' metrics, promote the treatment (offline and online gate) or stop."""

from django.http import Http404
from django_tenants.utils import schema_context
from rest_framework import serializers, status
from rest_framework.response import Response

from chat.answer import arms
from chat.models import Experiment
from evaluation import experiments
from evaluation.selectors import offline_summary
from tenants import selectors as tenant_selectors
from tenants.accounts.base import OperatorApi, TenantAdminApi


class VariantSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    settings = serializers.DictField(required=False, default=dict)


def experiment_get(public_id) -> Experiment:
    experiment = Experiment.objects.filter(public_id=public_id).first()
    if experiment is None:
        raise Http404
    return experiment


def experiment_data(experiment: Experiment, *, with_metrics: bool = False) -> dict:
    data = {
        "id": str(experiment.public_id),
        "name": experiment.name,
        "status": experiment.status,
        "control": experiment.control,
        "treatment": experiment.treatment,
        "traffic_share": experiment.traffic_share,
        "margin": experiment.margin,
        "min_sample_size": experiment.min_sample_size,
        "decision": experiment.decision,
        "created_at": experiment.created_at.isoformat(),
        "started_at": experiment.started_at.isoformat() if experiment.started_at else None,
        "ended_at": experiment.ended_at.isoformat() if experiment.ended_at else None,
    }
    if with_metrics:
        counts = experiments.arm_counts(experiment)
        data["counts"], data["metrics"] = counts, experiments.arm_metrics(counts)
        data["offline"] = {
            arm: offline_summary(arms.arm_variant(experiment, arm).settings.fingerprint()) for arm in arms.ARMS
        }
    return data


class ExperimentListApi(TenantAdminApi):
    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=100)
        control = VariantSerializer(required=False)
        treatment = VariantSerializer()
        traffic_share = serializers.FloatField(min_value=0.01, max_value=0.99, default=0.5)
        margin = serializers.FloatField(min_value=0.005, max_value=0.2, default=0.02)

    def get(self, request):
        found = Experiment.objects.order_by("-created_at")
        return Response({"results": [experiment_data(e) for e in found]})

    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        experiment = experiments.experiment_create(tenant=self.tenant, actor=request.user, **serializer.validated_data)
        return Response(experiment_data(experiment), status=status.HTTP_201_CREATED)


class ExperimentDetailApi(TenantAdminApi):
    def get(self, request, experiment_id):
        return Response(experiment_data(experiment_get(experiment_id), with_metrics=True))


class ExperimentActionApi(TenantAdminApi):
    """POST .../start/, .../promote/ or .../stop/."""

    action = ""

    def post(self, request, experiment_id):
        experiment = experiments.experiment_act(
            tenant=self.tenant, experiment=experiment_get(experiment_id), action=self.action, actor=request.user
        )
        return Response(experiment_data(experiment, with_metrics=True))


class OperatorExperimentListApi(OperatorApi):
    """A tenant's experiments, for an operator: settings and counts, never the answers."""

    def get(self, request, tenant_id):
        tenant = tenant_selectors.tenant_get(tenant_id=tenant_id)
        with schema_context(tenant.schema_name):
            return Response({"results": [experiment_data(e) for e in Experiment.objects.order_by("-created_at")]})

    def post(self, request, tenant_id):
        tenant = tenant_selectors.tenant_get(tenant_id=tenant_id)
        serializer = ExperimentListApi.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with schema_context(tenant.schema_name):
            experiment = experiments.experiment_create(tenant=tenant, actor=request.user, **serializer.validated_data)
            return Response(experiment_data(experiment), status=status.HTTP_201_CREATED)


class OperatorExperimentActionApi(OperatorApi):
    """POST .../start/, .../promote/ or .../stop/ of a tenant's experiment, gated as for its admins."""

    action = ""

    def post(self, request, tenant_id, experiment_id):
        tenant = tenant_selectors.tenant_get(tenant_id=tenant_id)
        with schema_context(tenant.schema_name):
            experiment = experiments.experiment_act(
                tenant=tenant, experiment=experiment_get(experiment_id), action=self.action, actor=request.user
            )
            return Response(experiment_data(experiment, with_metrics=True))
