"""Sign-in throttling: wrong passwords slow down the address they come from, never the account everywhere,
so nobody can keep an owner out by guessing at their password.

After ENCLAVE_LOGIN_FAILURES_PER_ACCOUNT failures of one account from one address, each further try of
that account from there waits 1 s, twice as long after each further failure, at most
ENCLAVE_LOGIN_LOCKOUT_SECONDS (429 with Retry-After, the right password included). Those failures count
for a day, or until the account signs in from that address: with the wait capped at 15 minutes, one
address tries one account about a hundred times a day. ENCLAVE_LOGIN_FAILURES_PER_ADDRESS failures from
one address, any accounts (password spraying), slow that address the same way; they count only for
ENCLAVE_LOGIN_LOCKOUT_SECONDS, because an address may be a whole office behind one NAT. An IPv6 client
is its /64, which one host can fill with addresses. The address is `client_ip`'s: behind a proxy, the
one it forwards (ENCLAVE_TRUSTED_PROXIES).

Failures are counted from the audit log (`auth.login_failed` rows of the schema the sign-in is for), so
every web process sees the same count and a restart forgets nothing. Attempts refused while waiting are
audited as `auth.login_throttled` and are not failures, so trying on does not lengthen the wait. The
failure that starts the wait for an account from an address is followed by `auth.login_slowed`, whose
target is the account: its owner finds it in the audit log. A burst of parallel attempts can pass the
check together before any is counted: at most that many more passwords are tried.
"""

import datetime
import ipaddress
import math
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, Max, Q
from django.utils import timezone

from tenants.accounts.audit import audit_record
from tenants.accounts.models import AuditEvent, User

FAILED = "auth.login_failed"
THROTTLED = "auth.login_throttled"
SLOWED = "auth.login_slowed"
SIGNED_IN = "auth.login"

FIRST_WAIT_SECONDS = 1
ACCOUNT_MEMORY = datetime.timedelta(days=1)
IPV6_CLIENT_PREFIX = 64


@dataclass(frozen=True)
class Lockout:
    reason: str  # "account" (this account from this address) | "address" (any account from it)
    retry_after: int  # seconds


def wait_seconds(*, failures: int, free: int) -> int:
    """How long the next try waits after `failures` recent failures, the first `free` of them costing nothing."""
    if failures < free:
        return 0
    doublings = min(failures - free, 32)  # the cap is reached long before; no huge powers of two
    return min(settings.ENCLAVE_LOGIN_LOCKOUT_SECONDS, FIRST_WAIT_SECONDS * 2**doublings)


def lockout_of(*, username: str, address: str | None) -> Lockout | None:
    """Whether a sign-in as `username` from `address` must wait now, and for how long."""
    now = timezone.now()
    waits = []
    for reason, failures, free in _rules(username=username, address=address, now=now):
        recent = failures.aggregate(n=Count("id"), last=Max("created_at"))
        if not recent["n"]:
            continue
        until = recent["last"] + datetime.timedelta(seconds=wait_seconds(failures=recent["n"], free=free))
        if until > now:
            waits.append(Lockout(reason, max(1, math.ceil((until - now).total_seconds()))))
    return max(waits, key=lambda lockout: lockout.retry_after, default=None)


def failure_record(*, username: str, address: str | None) -> None:
    """Audit a wrong password; the one that starts the wait tells the account's owner."""
    label = username[:150]
    audit_record(action=FAILED, outcome="denied", actor_label=label, ip_address=address)
    free = settings.ENCLAVE_LOGIN_FAILURES_PER_ACCOUNT
    if _account_failures(username=username, address=address, now=timezone.now()).count() != free:
        return
    owner = User.objects.filter(username=username).values_list("public_id", flat=True).first()
    if owner is not None:
        audit_record(
            action=SLOWED,
            outcome="denied",
            actor_label=label,
            target_type="user",
            target_id=str(owner),
            ip_address=address,
            detail={"failures": free},
        )


def _rules(*, username: str, address: str | None, now: datetime.datetime) -> list[tuple]:
    account = _account_failures(username=username, address=address, now=now)
    rules = [("account", account, settings.ENCLAVE_LOGIN_FAILURES_PER_ACCOUNT)]
    if address:
        window = now - datetime.timedelta(seconds=settings.ENCLAVE_LOGIN_LOCKOUT_SECONDS)
        from_there = AuditEvent.objects.filter(_from(address), action=FAILED, created_at__gte=window)
        rules.append(("address", from_there, settings.ENCLAVE_LOGIN_FAILURES_PER_ADDRESS))
    return rules


def _account_failures(*, username: str, address: str | None, now: datetime.datetime):
    label = username[:150]
    of_account = AuditEvent.objects.filter(_from(address), actor_label=label)
    signed_in = of_account.filter(action=SIGNED_IN).aggregate(last=Max("created_at"))["last"]
    since = max(now - ACCOUNT_MEMORY, signed_in) if signed_in else now - ACCOUNT_MEMORY
    return of_account.filter(action=FAILED, created_at__gt=since)


def _from(address: str | None) -> Q:
    """Rows from `address`, or from its /64 for IPv6 (stored addresses are hosts, so a range is the network)."""
    if not address:
        return Q(ip_address__isnull=True)
    host = ipaddress.ip_address(address)
    prefix = IPV6_CLIENT_PREFIX if host.version == 6 else 32
    network = ipaddress.ip_network(f"{host}/{prefix}", strict=False)
    return Q(ip_address__range=(str(network[0]), str(network[-1])))
