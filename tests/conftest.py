import pytest
from django.contrib.auth.models import Group


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
