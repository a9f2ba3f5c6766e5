"""Developer machine and `make demo`: debug on, a fixed throw-away secret."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env("SECRET_KEY", default="local-only-insecure-key-never-use-in-production")  # noqa: S105
