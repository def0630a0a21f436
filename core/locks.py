"""Per-tenant advisory locks in PostgreSQL, shared by every process of the appliance.

A session lock, released as soon as the block ends: a caller inside a longer transaction (a test, an
atomic request) must not keep other processes of the tenant waiting until it commits. The block should
therefore write in autocommit, so what it wrote is visible once the lock is released.
"""

from contextlib import contextmanager

from django.db import connection


@contextmanager
def tenant_lock(key: int):
    """Hold lock `key` for the current tenant schema while the block runs."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, hashtext(current_schema()))", [key])
        try:
            yield
        finally:
            cursor.execute("SELECT pg_advisory_unlock(%s, hashtext(current_schema()))", [key])
