"""The test suite: the same database switch as production (DATABASE_URL), fast hashing, inline tasks."""

from .base import *  # noqa: F403
from .base import Q_CLUSTER, env

SECRET_KEY = "test-only-insecure-key"  # noqa: S105
DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
Q_CLUSTER = {**Q_CLUSTER, "sync": True}

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file, not memory: a live server's threads then get connections of their own, as in production,
    # instead of sharing the test's one connection (and its savepoints) with it.
    # TEST_SQLITE_NAME gives a second run on one checkout a file of its own.
    DATABASES["default"]["TEST"] = {"NAME": env("TEST_SQLITE_NAME", default=str(BASE_DIR / "test-db.sqlite3"))}  # noqa: F405

# The suite's pushes are dated November 2026 (fixed, so prices are exact): the window reaches back far
# enough to take them for years; the tests of the window set it themselves.
INBOX_TIME_BEHIND_DAYS = 3660

# Exports are written under a folder of their own, never beside the project's files.
MEDIA_ROOT = str(BASE_DIR / ".test-media")  # noqa: F405
