import pytest
from django.urls import reverse

LOGIN = reverse("admin:login")
INDEX = reverse("admin:index")
OFFICE = "198.51.100.7"  # the address the users below log in from, unless a test says otherwise


def log_in(client, username, password, *, address=OFFICE, **headers):
    """The admin's login form posted as a browser does, from `address` (the connection's peer)."""
    return client.post(LOGIN, {"username": username, "password": password, "next": INDEX},
                       REMOTE_ADDR=address, **headers)


def fail(client, username, times, *, address=OFFICE, **headers):
    """`times` logins of `username` with a wrong password; the last answer."""
    response = None
    for _ in range(times):
        response = log_in(client, username, "not-the-password", address=address, **headers)
    return response


def logged_in(response) -> bool:
    return response.status_code == 302 and response["Location"] == INDEX


@pytest.fixture(autouse=True)
def _axes_as_configured(settings):
    """The defaults of config/settings/base.py, said here so that the tests read on their own."""
    import datetime as dt

    settings.AXES_FAILURE_LIMIT = 5
    settings.AXES_COOLOFF_TIME = dt.timedelta(minutes=30)
    settings.TRUSTED_PROXIES = []
