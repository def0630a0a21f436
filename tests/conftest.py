"""Fixtures: two committed tenants with users in different groups, API keys, and request helpers.

Tenants are created once per session and committed (schemas cannot be cheaply rolled back per
test); every test then runs inside a transaction that is rolled back (the `db` fixture).
"""

import json
from dataclasses import dataclass

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from tenants import keyring, services
from tenants.accounts import services as accounts
from tenants.accounts.models import Group, User
from tenants.models import Tenant

PASSWORD = "correct-horse-battery-staple"


@dataclass
class TenantWorld:
    tenant: Tenant
    host: str
    admin: User
    admin_key: str
    finance: User
    finance_key: str
    legal: User
    legal_key: str
    finance_group: Group
    legal_group: Group


@dataclass
class Operator:
    user: User
    key: str


def _build_world(name: str, schema_name: str) -> TenantWorld:
    created = services.tenant_create(
        name=name, schema_name=schema_name, admin_username="admin", admin_password=PASSWORD
    )
    with schema_context(schema_name):
        admin = created.admin
        finance, _ = accounts.user_create(username="fay", password=PASSWORD)
        legal, _ = accounts.user_create(username="leo", password=PASSWORD)
        finance_group = accounts.group_create(name="finance", actor=admin)
        legal_group = accounts.group_create(name="legal", actor=admin)
        accounts.group_member_add(group=finance_group, user=finance, actor=admin)
        accounts.group_member_add(group=legal_group, user=legal, actor=admin)
        keys = {
            user.username: accounts.api_key_create(user=user, name="tests", actor=user)[1]
            for user in (admin, finance, legal)
        }
    connection.set_schema_to_public()
    return TenantWorld(
        tenant=created.tenant,
        host=services.tenant_domain(schema_name),
        admin=admin,
        admin_key=keys["admin"],
        finance=finance,
        finance_key=keys["fay"],
        legal=legal,
        legal_key=keys["leo"],
        finance_group=finance_group,
        legal_group=legal_group,
    )


@pytest.fixture(scope="session", autouse=True)
def _file_store(tmp_path_factory):
    """Stored files of this session only: the test database is new each session, and so are its keys."""
    from django.conf import settings

    settings.ENCLAVE_FILE_STORE = str(tmp_path_factory.mktemp("files"))


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        keyring.init_file()
    return django_db_setup


@pytest.fixture(scope="session")
def world(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        worlds = {"a": _build_world("Tenant A", "tenant_a"), "b": _build_world("Tenant B", "tenant_b")}
        operator, _ = accounts.user_create(username="ops", password=PASSWORD, role=User.Role.OPERATOR)
        worlds["operator"] = Operator(
            user=operator, key=accounts.api_key_create(user=operator, name="tests", actor=operator)[1]
        )
    return worlds


@pytest.fixture
def tenant_a(world, db) -> TenantWorld:
    world["a"].tenant.refresh_from_db()
    return world["a"]


@pytest.fixture
def tenant_b(world, db) -> TenantWorld:
    world["b"].tenant.refresh_from_db()
    return world["b"]


@pytest.fixture
def operator(world, db) -> Operator:
    return world["operator"]


@pytest.fixture(autouse=True)
def _connection_back_on_public():
    yield
    assert connection.schema_name == "public", "the connection was left on a tenant schema"


class Api:
    """Requests as a program would make them: JSON bodies, a bearer key, a host name."""

    def __init__(self, client):
        self.client = client

    def __call__(self, method: str, path: str, *, key: str | None = None, host: str = "localhost", data=None):
        headers = {"HTTP_HOST": host}
        if key:
            headers["HTTP_AUTHORIZATION"] = f"Bearer {key}"
        if method.lower() == "get":
            return self.client.get(path, **headers)
        body = json.dumps(data) if data is not None else None
        return getattr(self.client, method.lower())(path, data=body, content_type="application/json", **headers)


@pytest.fixture
def api(client) -> Api:
    return Api(client)


@pytest.fixture
def detector_on(settings):
    """The fine-tuned injection detector screens beside the rules (ENCLAVE_INJECTION_MODEL, off by default)."""
    settings.ENCLAVE_INJECTION_MODEL = True
