import threading
from contextlib import contextmanager

from django.core.handlers.wsgi import WSGIHandler
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
from django.db import connection
from django.test.utils import CaptureQueriesContext


def get_counting_queries(client, url):
    """GET url, assert it answered 200, and return the response with the number of queries it ran."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return response, len(captured.captured_queries)


def assert_changelist_queries_constant(client, url, make_rows):
    """A changelist of 5 and then 30 rows (made by make_rows(count)) lists them all with the same queries.

    make_rows should spread the rows over distinct related objects, so an N+1 query would show.
    """
    make_rows(5)
    client.get(url)  # warm-up: content types, session, permissions

    few, few_queries = get_counting_queries(client, url)
    make_rows(25)
    many, many_queries = get_counting_queries(client, url)

    assert len(few.context["cl"].result_list) == 5
    assert len(many.context["cl"].result_list) == 30
    assert many_queries == few_queries


class _BusyServer(ThreadedWSGIServer):
    # Many senders connect at the same instant; the default backlog of 10 would reset the rest.
    request_queue_size = 256


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 (the standard library's name)
        pass


@contextmanager
def wsgi_server():
    """This project's WSGI application on a threaded loopback server; yields its base URL.

    Each request runs in its own thread on its own database connection, as on a real server, so
    tests and benchmarks see the concurrency a vendor's burst of pushes causes.
    """
    server = _BusyServer(("127.0.0.1", 0), _QuietHandler, allow_reuse_address=False)
    server.set_app(WSGIHandler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@contextmanager
def tomda_cloud(settings, chargers, **options):
    """The Tomda simulator with `chargers` running, and our Tomda settings pointing at it."""
    from integrations.tomda.simulator import TomdaSimulator

    with TomdaSimulator(api_id="sim-id", api_key="sim-key", chargers=chargers, **options) as sim:
        settings.TOMDA_BASE_URL = sim.base_url
        settings.TOMDA_API_ID = "sim-id"
        settings.TOMDA_API_KEY = "sim-key"
        yield sim


@contextmanager
def wanzhuang_cloud(settings, devices, **options):
    """The Wanzhuang simulator with `devices` running, and our Wanzhuang settings pointing at it."""
    from integrations.wanzhuang.simulator import WanzhuangSimulator

    method = options.pop("sign_method", "hmac-sha256")
    with WanzhuangSimulator(app_id="sim-app", app_secret="sim-secret", sign_method=method, devices=devices,
                            **options) as sim:
        settings.WANZHUANG_BASE_URL = sim.base_url
        settings.WANZHUANG_APP_ID = "sim-app"
        settings.WANZHUANG_APP_SECRET = "sim-secret"
        settings.WANZHUANG_SIGN_METHOD = method
        yield sim
