"""The admin index's dashboard: panels that the apps register, shown to whoever may view their models.

`backoffice` knows none of our apps, so it cannot ask them for their figures; each app says what it shows
instead, the way `admin.py` registers ModelAdmins: a module `dashboard.py` in the app, imported when the
admin is ready (`dashboard_autodiscover`, called by `BackofficeAdminConfig.ready`), registers its panels
with `panel_register`. A panel names the models its figures come from, a template that shows them and a
function that reads them. The index (`DashboardAdminSite.index`) reads only the panels the user may see.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.contrib.auth import get_permission_codename
from django.utils.module_loading import autodiscover_modules

from .parameters import GuardedAdminSite


@dataclass(frozen=True)
class Panel:
    """One panel of the dashboard.

    `models` are `app_label.model_name` labels: a user sees the panel only with the view (or change)
    permission of each, as the admin lets them see the models' lists. `figures` reads what the panel shows
    (a few aggregate queries, never a query per row); it runs only for a user who sees the panel, and its
    dict is the template's `figures`. Panels are shown by `order`, then by name.
    """

    name: str
    title: Any  # a lazy translation
    template: str
    models: tuple[str, ...]
    figures: Callable[[], dict]
    order: int = 100

    def visible_to(self, user) -> bool:
        if not (user.is_active and user.is_staff):
            return False
        for label in self.models:
            opts = apps.get_model(label)._meta
            if not any(user.has_perm(f"{opts.app_label}.{get_permission_codename(action, opts)}")
                       for action in ("view", "change")):
                return False
        return True


@dataclass(frozen=True)
class ShownPanel:
    panel: Panel
    figures: dict

    @property
    def name(self) -> str:
        return self.panel.name

    @property
    def title(self):
        return self.panel.title

    @property
    def template(self) -> str:
        return self.panel.template


_panels: dict[str, Panel] = {}


def panel_register(panel: Panel) -> Panel:
    """Add a panel to the dashboard; registering a name again replaces its panel (a module reloaded)."""
    for label in panel.models:
        apps.get_model(label)  # a typo in a label fails at start-up, not on the index of the first user
    _panels[panel.name] = panel
    return panel


def panel_unregister(name: str) -> None:
    _panels.pop(name, None)


def panels_registered() -> list[Panel]:
    return sorted(_panels.values(), key=lambda panel: (panel.order, panel.name))


def panels_shown(*, user) -> list[ShownPanel]:
    """The panels `user` may see, each with its figures read now."""
    return [ShownPanel(panel=panel, figures=panel.figures()) for panel in panels_registered()
            if panel.visible_to(user)]


def dashboard_autodiscover() -> None:
    """Import each installed app's `dashboard` module, which registers its panels."""
    autodiscover_modules("dashboard")


class DashboardAdminSite(GuardedAdminSite):
    """The back office's admin site (the default site): guarded parameters on every list
    (`GuardedAdminSite`) and the dashboard's panels above the app list on the index."""

    def index(self, request, extra_context=None):
        context = {"dashboard_panels": panels_shown(user=request.user), **(extra_context or {})}
        return super().index(request, extra_context=context)
