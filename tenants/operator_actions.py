"""The operator console's forms: tenants created with their first admin, suspended, resumed and deleted;
operators added, deactivated and reactivated.
Same input serializers and services as the operator API."""

from core.pages import console_action, done, posted, receipt_lines, refused, shown_once, validated
from tenants import apis, selectors, services
from tenants.accounts import selectors as account_selectors
from tenants.accounts import services as account_services
from tenants.accounts.models import User
from tenants.tasking import tenant_task_enqueue
from tenants.tasks import tenant_usage_compute

HOME = "/"


def _operator(request) -> bool:
    return request.tenant is None and request.user.role == User.Role.OPERATOR


@console_action(may=_operator, back=HOME)
def tenant_create(request):
    fields = posted(request, "name", "schema_name", "admin_username", "admin_email")
    created = services.tenant_create(**validated(apis.TenantListApi.InputSerializer, fields), actor=request.user)
    return shown_once(
        request,
        title=f"Tenant {created.tenant.name} was created",
        lines=[
            ("Address", services.tenant_domain(created.tenant.schema_name)),
            ("First admin", created.admin.username),
            ("Password", created.admin_password or "(as given)"),
        ],
        note="Give the password to the tenant's admin now: it is shown only once.",
    )


@console_action(may=_operator, back=HOME)
def tenant_suspend(request, tenant_id):
    tenant = selectors.tenant_get(tenant_id=tenant_id)
    data = validated(apis.TenantSuspendApi.InputSerializer, {"reason": request.POST.get("reason", "")})
    services.tenant_suspend(tenant=tenant, actor=request.user, **data)
    return done(request, f"{tenant.name} is suspended: its users and keys are refused until resumed.", HOME)


@console_action(may=_operator, back=HOME)
def tenant_resume(request, tenant_id):
    tenant = selectors.tenant_get(tenant_id=tenant_id)
    services.tenant_resume(tenant=tenant, actor=request.user)
    return done(request, f"{tenant.name} is active again.", HOME)


@console_action(may=_operator, back=HOME)
def tenant_delete(request, tenant_id):
    tenant = selectors.tenant_get(tenant_id=tenant_id)
    if request.POST.get("confirm", "") != tenant.schema_name:
        return refused(request, f"Not deleted: type {tenant.schema_name} to confirm.", HOME)
    name = tenant.name
    receipt = services.tenant_delete(tenant=tenant, actor=request.user)
    return shown_once(
        request,
        title=f"Tenant {name} was deleted",
        lines=receipt_lines(receipt),
        note="Its schema, stored files and keys are destroyed; this receipt is in the operator audit log.",
    )


@console_action(may=_operator, back=HOME)
def tenant_limits(request, tenant_id):
    tenant = selectors.tenant_get(tenant_id=tenant_id)
    names = ("storage_quota_bytes", "llm_requests_per_minute", "llm_tokens_per_day")
    data = validated(apis.TenantLimitsApi.InputSerializer, {name: request.POST.get(name) or None for name in names})
    services.tenant_limits_set(tenant=tenant, actor=request.user, **data)
    return done(request, f"{tenant.name}: limits saved.", HOME)


@console_action(may=_operator, back=HOME)
def tenant_usage_refresh(request, tenant_id):
    tenant = selectors.tenant_get(tenant_id=tenant_id)
    tenant_task_enqueue(tenant_usage_compute, tenant=tenant)
    return done(request, f"{tenant.name}: usage is being counted; reload in a moment.", HOME)


@console_action(may=_operator, back=HOME + "#operators")
def operator_create(request):
    data = validated(apis.OperatorListApi.InputSerializer, posted(request, "username", "email"))
    user, password = account_services.user_create(**data, role=User.Role.OPERATOR, actor=request.user)
    return shown_once(
        request,
        title=f"Operator {user.username} was added",
        lines=[("Username", user.username), ("Password", password)],
        note="Give this password to them now: it is shown only once and never stored in clear.",
    )


@console_action(may=_operator, back=HOME + "#operators")
def operator_update(request, user_id):
    user = account_selectors.operator_get(public_id=user_id)
    data = validated(apis.OperatorDetailApi.InputSerializer, posted(request, "is_active"))
    account_services.user_update(user=user, actor=request.user, **data)
    state = "active" if data["is_active"] else "deactivated: their sessions and keys no longer work"
    return done(request, f"Operator {user.username} is {state}.", HOME + "#operators")
