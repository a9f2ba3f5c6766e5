from unittest import mock

import pytest
from django.db import OperationalError


@pytest.mark.django_db
def test_health_answers_ok_when_the_database_answers(client):
    response = client.get("/health/")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


@pytest.mark.django_db
def test_health_answers_503_when_the_database_fails(client):
    # Given a database that refuses queries
    with mock.patch("config.health.connection.cursor", side_effect=OperationalError("connection refused")):
        response = client.get("/health/")

    # Then the load balancer is told, with the reason
    assert response.status_code == 503
    assert response.json() == {"status": "error", "database": "connection refused"}
