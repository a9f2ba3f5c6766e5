from unittest import mock

import pytest
from django.db import OperationalError
from django.test import override_settings


@pytest.mark.django_db
def test_health_answers_ok_when_the_database_answers(client):
    response = client.get("/health/")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


@pytest.mark.django_db
@override_settings(ALLOWED_HOSTS=["backoffice.example.com"], SECURE_SSL_REDIRECT=True)
def test_health_answers_a_probe_by_node_address_over_plain_http(client):
    # Load balancers probe each node by its address, without TLS.
    response = client.get("/health/", HTTP_HOST="10.0.3.17:8000")

    assert response.status_code == 200
    # Other pages still refuse an unknown host.
    assert client.get("/admin/login/", HTTP_HOST="10.0.3.17:8000").status_code == 400


@pytest.mark.django_db
def test_health_answers_503_when_the_database_fails_and_names_no_internals(client, caplog):
    # Given a database that refuses queries
    with mock.patch("config.health.connection.cursor", side_effect=OperationalError("password authentication failed")):
        response = client.get("/health/")

    # Then the load balancer is told, and the reason goes to the log, not to the caller
    assert response.status_code == 503
    assert response.json() == {"status": "error", "database": "error"}
    assert "password authentication failed" in caplog.text


@pytest.mark.parametrize("method", ["post", "put", "delete", "patch", "options"])
def test_health_answers_only_a_probe_and_never_asks_the_database_otherwise(client, method):
    # Given no database at all, when /health/ is sent anything but GET or HEAD
    with mock.patch("config.health.connection.cursor", side_effect=AssertionError("the database was asked")):
        response = getattr(client, method)("/health/")

    # Then it is refused as a method, naming the ones that are a probe
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"


@pytest.mark.django_db
def test_health_answers_a_head_probe(client):
    assert client.head("/health/").status_code == 200
