import logging

from django.db import DatabaseError, connection
from django.http import JsonResponse

logger = logging.getLogger(__name__)

HEALTH_PATH = "/health/"
# What a load balancer's probe sends; anything else is no probe.
HEALTH_METHODS = ("GET", "HEAD")


def database_health() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        logger.exception("health check: the database did not answer")
        return False
    return True


class HealthCheckMiddleware:
    """Answers load balancers at /health/: 200 when the database answers a query, 503 when it does not.

    It sits first in the middleware so a probe needs neither an allowed Host header (probes send the
    node's address) nor HTTPS; the reply names no internals. A method other than GET or HEAD is answered
    405, without touching the database.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path != HEALTH_PATH:
            return self.get_response(request)
        if request.method not in HEALTH_METHODS:
            response = JsonResponse({"status": "error", "detail": "method not allowed"}, status=405)
            response["Allow"] = ", ".join(HEALTH_METHODS)
            return response
        if database_health():
            return JsonResponse({"status": "ok", "database": "ok"})
        return JsonResponse({"status": "error", "database": "error"}, status=503)


def _reply(description: str, status: str, database: str) -> dict:
    return {"description": description, "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/HealthReply"},
        "examples": {status: {"value": {"status": status, "database": database}}},
    }}}


def health_path(result, generator, request, public):
    """The load balancers' probe in the OpenAPI schema: a drf-spectacular postprocessing hook (it is answered by
    the middleware above, before any URL is resolved, so drf-spectacular does not see it)."""
    result.setdefault("paths", {})[HEALTH_PATH] = {"get": {
        "operationId": "health",
        "summary": "Whether this node serves: its database answers",
        "description": "For load balancers: answered before host validation and the HTTPS redirect, so a probe may "
                       "use the node's address over plain HTTP. HEAD is answered too; any other method is 405.",
        "tags": ["operations"],
        "responses": {
            "200": _reply("The database answers.", "ok", "ok"),
            "503": _reply("The database does not answer: take the node out of service.", "error", "error"),
        },
    }}
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["HealthReply"] = {
        "type": "object",
        "properties": {
            "status": {"type": "string", "enum": ["ok", "error"]},
            "database": {"type": "string", "enum": ["ok", "error"]},
        },
        "required": ["status", "database"],
    }
    result["components"]["schemas"] = dict(sorted(schemas.items()))
    return result
