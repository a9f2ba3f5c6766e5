"""Users and groups keep their history here: `register` builds their historical models in this app.

A user's record keeps who may do what (active, staff, superuser, groups, own permissions) and who the account is;
never the password's hash, and not the time of the last login, which Django saves on every login. A change of
password is recorded with its reason instead (audit/admin.py). A group's record keeps its name and permissions.
"""

import simple_history
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from backoffice.history import EditHistory

User = get_user_model()

simple_history.register(
    User, app="audit", records_class=EditHistory, excluded_fields=["password", "last_login"],
    m2m_fields=["groups", "user_permissions"],
)
simple_history.register(Group, app="audit", records_class=EditHistory, m2m_fields=["permissions"])
