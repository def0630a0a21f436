"""Run the Celery beat scheduler (config/celery.py: retention) so that one runs however many hosts
start it: the process takes a PostgreSQL advisory lock on a connection of its own and runs beat only
while it holds it. A second scheduler stands by and takes over when the first one's connection
closes (the process died or was stopped): PostgreSQL releases a session lock with its session."""

import logging
import time

import psycopg
from celery import current_app as app  # the project's app (config/celery.py), loaded with Django
from django.core.management.base import BaseCommand
from django.db import connection

from core import env

SCHEDULER_LOCK = 0x656E636C_62656174  # b"enclbeat" read as a bigint
log = logging.getLogger("enclave.scheduler")


def lock_connection() -> psycopg.Connection:
    return psycopg.connect(**connection.get_connection_params(), autocommit=True)


def lock_take(held_by: psycopg.Connection) -> bool:
    return held_by.execute("SELECT pg_try_advisory_lock(%s)", [SCHEDULER_LOCK]).fetchone()[0]


class Command(BaseCommand):
    help = "Run the beat scheduler; only the one scheduler holding the database lock sends tasks."

    def add_arguments(self, parser):
        parser.add_argument("--schedule", default=str(env.var_dir() / "celerybeat-schedule"))
        parser.add_argument("--standby-poll", type=float, default=5.0, help="seconds between lock attempts")

    def handle(self, *args, schedule: str, standby_poll: float, **options):
        held_by = lock_connection()
        connection.close()  # beat itself needs no database; the lock has its own connection
        announced = False
        while not lock_take(held_by):
            if not announced:
                log.info("another scheduler holds the lock: standing by")
                self.stdout.write("standing by: another scheduler is running", ending="\n")
                self.stdout.flush()
                announced = True
            time.sleep(standby_poll)
        log.info("scheduler lock taken: running beat")
        self.stdout.write("scheduling: this process holds the scheduler lock", ending="\n")
        self.stdout.flush()
        app.Beat(schedule=schedule, loglevel="INFO", quiet=True).run()
