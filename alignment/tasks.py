from alignment.models import AlignmentRun
from alignment.services import run_execute
from tenants.models import Tenant
from tenants.tasking import tenant_task


@tenant_task(name="alignment.align_run")
def align_run(*, tenant: Tenant, run_id: str) -> str:
    run = AlignmentRun.objects.filter(public_id=run_id, status=AlignmentRun.Status.QUEUED).first()
    if run is None:
        return "not queued"
    return run_execute(tenant=tenant, run=run).status
