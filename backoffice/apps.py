"""`django.contrib.admin` with the back office's default site (`INSTALLED_APPS` names this config).

Only the config lives here: the site class is named by its dotted path, imported once the apps are ready.
"""

from django.contrib.admin.apps import AdminConfig


class BackofficeAdminConfig(AdminConfig):
    default_site = "backoffice.adminkit.dashboard.DashboardAdminSite"

    def ready(self):
        super().ready()  # imports every app's admin module
        from backoffice import partitions  # noqa: F401  (registers the partition settings check)
        from backoffice.adminkit.dashboard import dashboard_autodiscover

        # Each app's dashboard module registers the panels of the admin index (adminkit/dashboard.py).
        dashboard_autodiscover()
