import logging

from django.db import DatabaseError, connection
from django.http import JsonResponse

logger = logging.getLogger(__name__)

HEALTH_PATH = "/health/"


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
    node's address) nor HTTPS; the reply names no internals.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path != HEALTH_PATH:
            return self.get_response(request)
        if database_health():
            return JsonResponse({"status": "ok", "database": "ok"})
        return JsonResponse({"status": "error", "database": "error"}, status=503)
