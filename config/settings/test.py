"""The test suite: the same database switch as production (DATABASE_URL), fast hashing, inline tasks."""

from .base import *  # noqa: F403
from .base import Q_CLUSTER

SECRET_KEY = "test-only-insecure-key"  # noqa: S105
DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
Q_CLUSTER = {**Q_CLUSTER, "sync": True}
