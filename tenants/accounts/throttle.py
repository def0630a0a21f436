"""Sign-in throttling: too many failed passwords for one account, or from one address, lock further
attempts out for a while (429 with Retry-After), the right password included.

Failures are counted from the audit log (`auth.login_failed` rows of the schema the sign-in is for),
so every web process sees the same count and a restart forgets nothing. A limit is a sliding window:
at most N failures in the last ENCLAVE_LOGIN_LOCKOUT_SECONDS; attempts refused while locked out are
audited as `auth.login_throttled` and do not extend the lockout, so an attacker cannot keep a user
locked out forever by trying again. A burst of parallel attempts can pass the check together before
any is counted: at most that many more passwords are tried.
"""

import datetime
import math
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from tenants.accounts.models import AuditEvent

FAILED = "auth.login_failed"
THROTTLED = "auth.login_throttled"


@dataclass(frozen=True)
class Lockout:
    reason: str  # "account" | "address"
    retry_after: int  # seconds


def lockout_of(*, username: str, address: str | None) -> Lockout | None:
    """Whether a sign-in as `username` from `address` is locked out now, and for how long."""
    window = datetime.timedelta(seconds=settings.ENCLAVE_LOGIN_LOCKOUT_SECONDS)
    now = timezone.now()
    recent = AuditEvent.objects.filter(action=FAILED, created_at__gte=now - window)
    limits = [("account", recent.filter(actor_label=username[:150]), settings.ENCLAVE_LOGIN_FAILURES_PER_ACCOUNT)]
    if address:
        limits.append(("address", recent.filter(ip_address=address), settings.ENCLAVE_LOGIN_FAILURES_PER_ADDRESS))
    for reason, failures, limit in limits:
        times = list(failures.order_by("-created_at").values_list("created_at", flat=True)[:limit])
        if len(times) >= limit:
            # the window admits a new attempt when the oldest of the last `limit` failures leaves it
            return Lockout(reason, max(1, math.ceil((times[-1] + window - now).total_seconds())))
    return None
