"""The accounts' admin pages. Each part of the app keeps its own in its package; this module, the one the admin
imports, imports them."""

from .logins import admin as logins_admin  # noqa: F401  (registers the lockouts' and the login records' admin)
from .twofactor import admin as twofactor_admin  # noqa: F401  (registers the authenticator devices' admin)
