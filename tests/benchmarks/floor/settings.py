"""Settings of the floor project: one app, no middleware, a persistent database connection."""

import environ

env = environ.Env()

SECRET_KEY = "floor-benchmark-only"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = ["floor.pushes"]
MIDDLEWARE = []
ROOT_URLCONF = "floor.urls"
WSGI_APPLICATION = "floor.wsgi.application"

DATABASES = {"default": env.db("DATABASE_URL")}
# Same as the project's run in the benchmark: a connection is reused instead of opened per request.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
USE_I18N = False
