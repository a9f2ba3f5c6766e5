import os
import secrets
import subprocess
import sys
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]


def _run(args, **extra_env):
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DJANGO_SETTINGS_MODULE"}}
    env.update(extra_env)
    return subprocess.run(  # noqa: S603
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_production_settings_refuse_to_start_without_a_secret_key():
    # Given production settings and no SECRET_KEY in the environment
    result = _run(["manage.py", "check"], DJANGO_SETTINGS_MODULE="config.settings.production", ALLOWED_HOSTS="x")

    # Then Django does not start, and says why
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_settings_pass_the_deployment_checks_without_warnings():
    result = _run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        DJANGO_SETTINGS_MODULE="config.settings.production",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="backoffice.example.com",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_the_defaults_are_chinese_beijing_time_and_aware_datetimes():
    assert settings.LANGUAGE_CODE == "zh-hans"
    assert [code for code, _ in settings.LANGUAGES] == ["zh-hans", "en"]
    assert settings.TIME_ZONE == "Asia/Shanghai"
    assert settings.USE_TZ is True


def test_embedded_defaults_need_nothing_installed():
    # Given no DATABASE_URL and no REDIS_URL, the base settings give SQLite, the ORM broker and locmem.
    code = (
        "from config.settings import base as s;"
        "print(s.DATABASES['default']['ENGINE']);"
        "print(s.Q_CLUSTER.get('orm'), 'redis' in s.Q_CLUSTER);"
        "print(s.CACHES['default']['BACKEND'])"
    )
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:3] == [
        "django.db.backends.sqlite3",
        "default False",
        "django.core.cache.backends.locmem.LocMemCache",
    ]


def test_database_url_and_redis_url_switch_database_broker_and_cache():
    code = (
        "from config.settings import base as s;"
        "print(s.DATABASES['default']['ENGINE'], s.DATABASES['default']['NAME']);"
        "print(s.Q_CLUSTER.get('redis'), 'orm' in s.Q_CLUSTER);"
        "print(s.CACHES['default']['BACKEND'], s.CACHES['default']['LOCATION'])"
    )
    env = dict(
        os.environ,
        DATABASE_URL="postgres://backoffice@db.internal:5432/charging",
        REDIS_URL="redis://cache.internal:6379/1",
    )
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:3] == [
        "django.db.backends.postgresql charging",
        "redis://cache.internal:6379/1 False",
        "django.core.cache.backends.redis.RedisCache redis://cache.internal:6379/1",
    ]
