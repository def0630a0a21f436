"""Celery tasks that run inside one tenant's schema, and the few that fan out over tenants.

Every task of the appliance is declared with @tenant_task and enqueued with tenant_task_enqueue.
The tenant travels as the `tenant_schema` keyword; a task without it, or for a tenant that is
missing or suspended, fails before any of its code runs. The connection is back on `public`
after every task, whatever happened.

The exception is a scheduled dispatcher that reads the tenant list and enqueues tenant tasks:
it is declared with @public_task and runs in `public`, never in a tenant's schema.
"""

from celery import Task, current_app, shared_task
from django.db import connection

from core.logging import tenant_var
from tenants.models import Tenant

TENANT_KWARG = "tenant_schema"


class MissingTenantError(RuntimeError):
    pass


class TenantUnavailableError(RuntimeError):
    pass


class UnexpectedTenantError(RuntimeError):
    pass


class TenantTask(Task):
    abstract = True

    def __call__(self, *args, **kwargs):
        schema_name = kwargs.pop(TENANT_KWARG, None)
        if not schema_name:
            raise MissingTenantError(f"task {self.name} was sent without a tenant; refusing to run")
        connection.set_schema_to_public()
        tenant = Tenant.objects.filter(schema_name=schema_name).first()
        if tenant is None:
            raise TenantUnavailableError(f"task {self.name}: tenant {schema_name!r} does not exist")
        if not tenant.is_active:
            raise TenantUnavailableError(f"task {self.name}: tenant {schema_name!r} is suspended")
        connection.set_tenant(tenant)
        self.request.tenant_schema = schema_name
        token = tenant_var.set(schema_name)
        try:
            return super().__call__(*args, tenant=tenant, **kwargs)
        finally:
            connection.set_schema_to_public()
            tenant_var.reset(token)

    def retry(self, args=None, kwargs=None, **options):
        """Send the retry with the tenant it ran for (the handler's kwargs carry `tenant`, not the schema)."""
        kwargs = dict(self.request.kwargs if kwargs is None else kwargs)
        kwargs.pop("tenant", None)
        kwargs[TENANT_KWARG] = self.request.tenant_schema
        return super().retry(args=args, kwargs=kwargs, **options)


def tenant_task(*args, **options):
    """@shared_task for tenant work: the decorated function receives `tenant` as a keyword."""
    options.setdefault("base", TenantTask)
    # The signature check at send time would reject `tenant_schema`, which __call__ consumes.
    options.setdefault("typing", False)
    return shared_task(*args, **options)


def tenant_task_enqueue(
    task: TenantTask, *, tenant: Tenant, queue: str | None = None, priority: int | None = None, **kwargs
):
    return task.apply_async(kwargs={**kwargs, TENANT_KWARG: tenant.schema_name}, **_options(queue, priority))


def tenant_task_send(name: str, *, tenant: Tenant, queue: str | None = None, priority: int | None = None, **kwargs):
    """Enqueue a tenant task by its name: the code that starts work need not import the module that
    does it (a web process has not loaded the task modules; the worker has)."""
    return current_app.send_task(name, kwargs={**kwargs, TENANT_KWARG: tenant.schema_name}, **_options(queue, priority))


def _options(queue: str | None, priority: int | None) -> dict:
    return {key: value for key, value in {"queue": queue, "priority": priority}.items() if value is not None}


class PublicTask(Task):
    """A task that runs in the public schema: it reads the tenant list and enqueues tenant tasks.

    It refuses a tenant (a public task sent for one tenant is a mistake) and puts the connection on
    `public` before and after it runs."""

    abstract = True

    def __call__(self, *args, **kwargs):
        if TENANT_KWARG in kwargs:
            raise UnexpectedTenantError(f"task {self.name} runs in the public schema; it was sent for a tenant")
        connection.set_schema_to_public()
        try:
            return super().__call__(*args, **kwargs)
        finally:
            connection.set_schema_to_public()


def public_task(*args, **options):
    """@shared_task for the few tasks that fan out over tenants (a test lists them by name)."""
    options.setdefault("base", PublicTask)
    return shared_task(*args, **options)
