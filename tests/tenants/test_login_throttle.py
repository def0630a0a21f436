"""Sign-in throttling: wrong passwords slow down only the address they come from (each further try waits
twice as long, up to a cap), so guessing at someone's password never keeps them out from elsewhere; many
accounts tried from one address slow that address; behind a configured proxy the forwarded address
counts, from anyone else it is ignored; the account's owner finds it in the audit log."""

import datetime

import pytest
from django.test import RequestFactory
from django_tenants.utils import schema_context

from tenants.accounts import throttle
from tenants.accounts.base import client_ip
from tenants.accounts.models import AuditEvent
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

ATTACKER = "203.0.113.7"
OWNER = "198.51.100.4"
PROXY = "10.1.2.3"


@pytest.fixture(autouse=True)
def first_wait_a_minute(monkeypatch):
    """A minute rather than a second: however slowly the tests run, no wait they check runs out by itself."""
    monkeypatch.setattr(throttle, "FIRST_WAIT_SECONDS", 60)


def sign_in(client, world, username, password, address=ATTACKER, **headers):
    return client.post(
        "/login/",
        {"username": username, "password": password},
        HTTP_HOST=world.host,
        REMOTE_ADDR=address,
        **headers,
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


def wait_after(failures: int, settings) -> int:
    return throttle.wait_seconds(failures=failures, free=settings.ENCLAVE_LOGIN_FAILURES_PER_ACCOUNT)


def fail_until_slowed(client, world, username, address=ATTACKER, *, settings) -> None:
    for i in range(settings.ENCLAVE_LOGIN_FAILURES_PER_ACCOUNT):
        assert sign_in(client, world, username, f"guess-{i}", address).status_code == 401


def test_the_wait_doubles_with_each_failure_over_the_free_ones_up_to_the_cap(settings, monkeypatch):
    monkeypatch.setattr(throttle, "FIRST_WAIT_SECONDS", 1)  # as shipped
    settings.ENCLAVE_LOGIN_LOCKOUT_SECONDS = 900
    waits = [throttle.wait_seconds(failures=n, free=5) for n in range(3, 18)]

    assert waits == [0, 0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900, 900]
    assert throttle.wait_seconds(failures=10**6, free=5) == 900


def test_a_thousand_wrong_passwords_from_one_address_are_slowed_not_counted(client, tenant_a, settings):
    statuses = [sign_in(client, tenant_a, "fay", f"guess-{i}").status_code for i in range(1_000)]

    free = settings.ENCLAVE_LOGIN_FAILURES_PER_ACCOUNT
    assert statuses[:free] == [401] * free and set(statuses[free:]) == {429}
    right = sign_in(client, tenant_a, "fay", PASSWORD)
    assert right.status_code == 429 and not signed_in(client, tenant_a)
    assert 0 < int(right["Retry-After"]) <= wait_after(free, settings)
    with schema_context("tenant_a"):
        assert AuditEvent.objects.filter(action=throttle.FAILED).count() == free


def test_the_owner_signs_in_from_another_address_while_the_attackers_address_waits(client, tenant_a, settings):
    for i in range(1_000):
        sign_in(client, tenant_a, "admin", f"guess-{i}")
    age_failures(tenant_a, wait_after(5, settings))  # the first wait is over: one more try, and a longer wait
    for i in range(20):
        sign_in(client, tenant_a, "admin", f"more-{i}")

    assert sign_in(client, tenant_a, "admin", PASSWORD).status_code == 429
    assert sign_in(client, tenant_a, "admin", PASSWORD, address=OWNER).status_code == 302
    assert signed_in(client, tenant_a)


def test_another_account_from_the_same_address_is_not_slowed_by_one_accounts_failures(client, tenant_a, settings):
    fail_until_slowed(client, tenant_a, "fay", settings=settings)

    assert sign_in(client, tenant_a, "leo", PASSWORD).status_code == 302


def test_the_wait_ends_and_throttled_tries_do_not_lengthen_it(client, tenant_a, settings):
    fail_until_slowed(client, tenant_a, "fay", settings=settings)
    assert sign_in(client, tenant_a, "fay", "another guess").status_code == 429  # tried while waiting
    assert sign_in(client, tenant_a, "fay", PASSWORD).status_code == 429

    age_failures(tenant_a, wait_after(5, settings))

    assert sign_in(client, tenant_a, "fay", "guess again").status_code == 401
    waiting = sign_in(client, tenant_a, "fay", PASSWORD)
    assert waiting.status_code == 429
    assert int(waiting["Retry-After"]) <= wait_after(6, settings)
    age_failures(tenant_a, wait_after(6, settings))
    assert sign_in(client, tenant_a, "fay", PASSWORD).status_code == 302


def test_signing_in_forgets_the_failures_of_that_address(client, tenant_a, settings):
    fail_until_slowed(client, tenant_a, "fay", settings=settings)
    age_failures(tenant_a, wait_after(5, settings))
    assert sign_in(client, tenant_a, "fay", PASSWORD).status_code == 302

    assert sign_in(client, tenant_a, "fay", "a typo").status_code == 401
    assert sign_in(client, tenant_a, "fay", PASSWORD).status_code == 302


def test_the_owner_is_told_in_the_audit_log_once_their_account_is_slowed(client, tenant_a, settings):
    fail_until_slowed(client, tenant_a, "fay", settings=settings)
    sign_in(client, tenant_a, "fay", "tried while waiting")

    with schema_context("tenant_a"):
        told = list(AuditEvent.objects.filter(action=throttle.SLOWED))
    assert len(told) == 1
    assert (told[0].target_type, told[0].target_id) == ("user", str(tenant_a.finance.public_id))
    assert told[0].ip_address == ATTACKER
    assert told[0].detail == {"failures": settings.ENCLAVE_LOGIN_FAILURES_PER_ACCOUNT}


def test_many_accounts_tried_from_one_address_slow_the_address(client, tenant_a, settings):
    for i in range(settings.ENCLAVE_LOGIN_FAILURES_PER_ADDRESS):
        sign_in(client, tenant_a, f"user-{i}", "guess")

    from_there = sign_in(client, tenant_a, "leo", PASSWORD)
    elsewhere = sign_in(client, tenant_a, "leo", PASSWORD, address=OWNER)

    assert from_there.status_code == 429 and "Too many failed sign-ins" in from_there.content.decode()
    assert elsewhere.status_code == 302


def test_the_addresses_of_one_ipv6_64_count_as_one_address(client, tenant_a, settings):
    for i in range(settings.ENCLAVE_LOGIN_FAILURES_PER_ACCOUNT):
        sign_in(client, tenant_a, "fay", f"guess-{i}", address=f"2001:db8:1:2::{i + 1:x}")

    assert sign_in(client, tenant_a, "fay", PASSWORD, address="2001:db8:1:2::beef").status_code == 429
    assert sign_in(client, tenant_a, "fay", PASSWORD, address="2001:db8:1:3::1").status_code == 302


def test_behind_a_configured_proxy_one_clients_failures_do_not_slow_the_others(client, tenant_a, settings):
    settings.ENCLAVE_TRUSTED_PROXIES = ["10.1.2.0/24"]
    for i in range(settings.ENCLAVE_LOGIN_FAILURES_PER_ADDRESS + 5):
        sign_in(client, tenant_a, f"user-{i % 3}", "guess", address=PROXY, HTTP_X_FORWARDED_FOR=ATTACKER)

    assert sign_in(client, tenant_a, "user-1", "guess", PROXY, HTTP_X_FORWARDED_FOR=ATTACKER).status_code == 429
    assert sign_in(client, tenant_a, "leo", PASSWORD, PROXY, HTTP_X_FORWARDED_FOR=OWNER).status_code == 302
    with schema_context("tenant_a"):
        assert set(AuditEvent.objects.filter(action=throttle.FAILED).values_list("ip_address", flat=True)) == {ATTACKER}


def test_a_forwarded_address_from_a_client_that_is_not_a_proxy_is_ignored(client, tenant_a, settings):
    settings.ENCLAVE_TRUSTED_PROXIES = ["10.1.2.0/24"]
    for i in range(settings.ENCLAVE_LOGIN_FAILURES_PER_ACCOUNT):
        sign_in(client, tenant_a, "fay", "guess", HTTP_X_FORWARDED_FOR=f"192.0.2.{i}")

    assert sign_in(client, tenant_a, "fay", PASSWORD, HTTP_X_FORWARDED_FOR="192.0.2.99").status_code == 429


@pytest.mark.parametrize(
    ("remote", "forwarded", "client"),
    [
        ("10.1.2.3", "", "10.1.2.3"),  # a proxy's own request
        ("10.1.2.3", "198.51.100.4", "198.51.100.4"),
        ("10.1.2.3", "6.6.6.6, 198.51.100.4", "198.51.100.4"),  # left of the proxy's entry: the client's say
        ("10.1.2.3", "6.6.6.6, 198.51.100.4, 10.1.2.9", "198.51.100.4"),  # two proxies
        ("10.1.2.3", "10.1.2.8, 10.1.2.9", "10.1.2.8"),  # every hop a proxy: the farthest one
        ("10.1.2.3", "198.51.100.4, not-an-address", "10.1.2.3"),
        ("10.1.2.3", "::ffff:198.51.100.4", "198.51.100.4"),
        ("203.0.113.7", "198.51.100.4", "203.0.113.7"),  # not a proxy
    ],
)
def test_the_client_address_is_the_last_forwarded_one_not_a_trusted_proxy(remote, forwarded, client, settings):
    settings.ENCLAVE_TRUSTED_PROXIES = ["10.1.2.0/24"]
    request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)

    assert client_ip(request) == client
