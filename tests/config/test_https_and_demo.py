"""Served over HTTPS: secure cookies and HSTS; the demo's passwords are printed only when created."""

import json
import os
import subprocess
import sys

from tenants.management.commands.demo_setup import Command as DemoSetup

SHOW = "from django.conf import settings as s; import json; print(json.dumps([s.SESSION_COOKIE_SECURE, " \
    "s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS, s.SECURE_PROXY_SSL_HEADER]))"  # fmt: skip


def settings_with(**environment) -> list:
    code = (
        f"import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings'); django.setup(); {SHOW}"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env={**os.environ, **environment}, capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_https_marks_cookies_secure_and_asks_for_hsts():
    production = {"ENCLAVE_HTTPS": "1", "DJANGO_SECRET_KEY": "k" * 50}
    assert settings_with(**production) == [True, True, 31536000, ["HTTP_X_FORWARDED_PROTO", "https"]]
    assert settings_with(ENCLAVE_HTTPS="0") == [False, False, 0, None]


def test_production_refuses_to_start_without_a_shared_secret_key():
    environment = {k: v for k, v in os.environ.items() if k != "DJANGO_SECRET_KEY"}
    code = "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings'); django.setup()"
    done = subprocess.run(
        [sys.executable, "-c", code], env={**environment, "ENCLAVE_HTTPS": "1"}, capture_output=True, text=True
    )
    assert done.returncode != 0 and "DJANGO_SECRET_KEY must be set" in done.stderr


def test_demo_passwords_are_printed_only_by_the_run_that_created_them(tmp_path):
    credentials = {"operator": "op-secret", "admin": "admin-secret", "member": "member-secret", "admin_api_key": "ek_x"}

    first = DemoSetup()._reach(credentials, new=set(credentials), path=tmp_path / "demo-credentials.json")
    later = DemoSetup()._reach(credentials, new=set(), path=tmp_path / "demo-credentials.json")

    assert all(secret in first for secret in credentials.values())
    assert not any(secret in later for secret in credentials.values())
    assert "(printed when created)" in later and str(tmp_path / "demo-credentials.json") in later
