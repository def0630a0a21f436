import re
from pathlib import Path

from django.conf import settings

from core import env


def test_every_environment_variable_is_documented_in_the_readme():
    readme = (Path(settings.BASE_DIR) / "README.md").read_text()

    missing = [name for name in env.ENVIRONMENT if f"`{name}`" not in readme]

    assert missing == []


def test_every_environment_variable_the_code_reads_is_declared():
    names = set()
    for path in Path(settings.BASE_DIR).glob("*/**/*.py"):
        if ".venv" in path.parts or "tests" in path.parts:
            continue
        names |= set(re.findall(r"env\.get(?:_bool|_list)?\(\s*\"([A-Z_]+)\"", path.read_text()))

    assert names - set(env.ENVIRONMENT) == set()


def test_the_database_is_postgresql_through_django_tenants():
    assert settings.DATABASES["default"]["ENGINE"] == "django_tenants.postgresql_backend"


def test_celery_is_configured_not_to_lose_work():
    assert settings.CELERY_TASK_ACKS_LATE is True
    assert settings.CELERY_TASK_REJECT_ON_WORKER_LOST is True
    assert settings.CELERY_WORKER_PREFETCH_MULTIPLIER == 1
    assert settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("visibility_timeout", 0) > settings.CELERY_TASK_TIME_LIMIT or (
        settings.CELERY_BROKER_URL == "filesystem://"
    )


def test_a_database_url_with_a_socket_folder_is_parsed():
    parsed = env.database_from_url("postgresql://postgres:@/enclave?host=/run/pg")

    assert (parsed["NAME"], parsed["USER"], parsed["HOST"]) == ("enclave", "postgres", "/run/pg")


def test_a_non_postgresql_database_url_is_refused():
    import pytest

    with pytest.raises(ValueError, match="postgresql://"):
        env.database_from_url("mysql://db/x")
