"""Sign-in throttling: 1,000 wrong passwords lock the account out (429 with Retry-After, the right
password refused too) until the window has passed; many accounts tried from one address lock the
address; a throttled attempt does not extend the lockout."""

import datetime

import pytest
from django_tenants.utils import schema_context

from tenants.accounts import throttle
from tenants.accounts.models import AuditEvent
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def sign_in(client, world, username, password, address="203.0.113.7"):
    return client.post(
        "/login/", {"username": username, "password": password}, HTTP_HOST=world.host, REMOTE_ADDR=address
    )


def signed_in(client, world) -> bool:
    return client.get("/", HTTP_HOST=world.host).status_code == 200


def age_failures(world, seconds: int) -> None:
    """Move the recorded failures back in time, as if `seconds` had passed."""
    with schema_context(world.tenant.schema_name):
        for event in AuditEvent.objects.filter(action=throttle.FAILED):
            AuditEvent.objects.filter(pk=event.pk).update(
                created_at=event.created_at - datetime.timedelta(seconds=seconds)
            )


def test_a_thousand_wrong_passwords_lock_the_account_out(client, tenant_a, settings):
    statuses = [sign_in(client, tenant_a, "fay", f"guess-{i}").status_code for i in range(1_000)]

    assert (
        statuses[: settings.ENCLAVE_LOGIN_FAILURES_PER_ACCOUNT] == [401] * settings.ENCLAVE_LOGIN_FAILURES_PER_ACCOUNT
    )
    assert set(statuses[settings.ENCLAVE_LOGIN_FAILURES_PER_ACCOUNT :]) == {429}
    right = sign_in(client, tenant_a, "fay", PASSWORD)
    assert right.status_code == 429 and not signed_in(client, tenant_a)
    assert 0 < int(right["Retry-After"]) <= settings.ENCLAVE_LOGIN_LOCKOUT_SECONDS
    with schema_context("tenant_a"):
        assert AuditEvent.objects.filter(action=throttle.FAILED).count() == settings.ENCLAVE_LOGIN_FAILURES_PER_ACCOUNT


def test_the_lockout_ends_after_the_window_and_throttled_tries_do_not_extend_it(client, tenant_a, settings):
    for i in range(settings.ENCLAVE_LOGIN_FAILURES_PER_ACCOUNT):
        sign_in(client, tenant_a, "fay", f"guess-{i}")
    age_failures(tenant_a, settings.ENCLAVE_LOGIN_LOCKOUT_SECONDS - 30)
    assert sign_in(client, tenant_a, "fay", "another guess").status_code == 429  # tried while locked out
    assert sign_in(client, tenant_a, "fay", PASSWORD).status_code == 429

    age_failures(tenant_a, 31)

    assert not signed_in(client, tenant_a)
    assert sign_in(client, tenant_a, "fay", PASSWORD).status_code == 302
    assert signed_in(client, tenant_a)


def test_another_account_and_another_address_are_not_locked_by_one_account(client, tenant_a, settings):
    for i in range(settings.ENCLAVE_LOGIN_FAILURES_PER_ACCOUNT):
        sign_in(client, tenant_a, "fay", f"guess-{i}")

    assert sign_in(client, tenant_a, "leo", PASSWORD).status_code == 302


def test_many_accounts_tried_from_one_address_lock_the_address(client, tenant_a, settings):
    for i in range(settings.ENCLAVE_LOGIN_FAILURES_PER_ADDRESS):
        sign_in(client, tenant_a, f"user-{i}", "guess")

    from_there = sign_in(client, tenant_a, "leo", PASSWORD)
    elsewhere = sign_in(client, tenant_a, "leo", PASSWORD, address="198.51.100.4")

    assert from_there.status_code == 429 and "Too many failed sign-ins" in from_there.content.decode()
    assert elsewhere.status_code == 302
