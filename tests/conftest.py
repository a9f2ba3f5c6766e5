import pytest
from django.contrib.auth.models import Group

from tests.helpers import tomda_cloud


@pytest.fixture(autouse=True)
def _forget_known_references():
    """Each test's database is new; what an earlier one's receiver saw to exist must not carry over."""
    from integrations.inbox import known_clear_all

    known_clear_all()
    yield
    known_clear_all()


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("root", "root@example.com", "pw-root-1234")


def _staff_in(django_user_model, username, group_name):
    user = django_user_model.objects.create_user(username, f"{username}@example.com", "pw-staff-1234", is_staff=True)
    user.groups.add(Group.objects.get(name=group_name))
    return user


@pytest.fixture
def operator(django_user_model):
    return _staff_in(django_user_model, "operator", "Operators")


@pytest.fixture
def finance(django_user_model):
    return _staff_in(django_user_model, "finance", "Finance")


@pytest.fixture
def operator_client(client, operator):
    """An operator's browser, asking for English pages."""
    client.force_login(operator)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def tomda(settings):
    """Tomda's cloud (no pushes) with an EV charger of one connector and an e-bike charger of two."""
    from integrations.tomda.simulator import SimCharger

    chargers = [
        SimCharger(serial="1012300001", kind="ev", connectors=1),
        SimCharger(serial="1012300002", kind="ebike", connectors=2),
    ]
    with tomda_cloud(settings, chargers) as sim:
        yield sim
