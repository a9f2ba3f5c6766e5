"""Admin logins: the lockout after repeated failures, and the record of every login, logout and failed login.

django-axes does the work (settings `AXES_*` in config/settings/base.py): its backend refuses a user name from an
address once `AXES_FAILURE_LIMIT` logins of it failed there within `AXES_COOLOFF_TIME`, and its handler writes
`AccessAttempt` (the running count), `AccessLog` (a login and, later, its logout) and `AccessFailureLog` (each
failure). The client's address is the one the push receivers see (`TRUSTED_PROXIES`). This package shows them:

- `models`: axes' tables under names people read in the admin (proxies, no tables of their own);
- `selectors`: whether a user name is locked at an address, and until when;
- `services`: unlocking (axes' reset, recorded in the admin's log), and the logout of a session whose key changed;
- `views`: the lockout page; `admin`: lockouts (unlock) and the records, for superusers only;
- `receivers`: what a login and a logout note beside axes.

A superuser unlocks from the admin or with axes' commands (`manage.py axes_reset_username <name>`, ...).
"""
