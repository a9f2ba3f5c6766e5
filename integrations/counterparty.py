"""The entry point of a counterparty folder: one AppConfig that says what the folder provides.

A folder under `integrations/` is one counterparty (a vendor cloud, the parking platform, a partner
interface). Its `apps.py` subclasses `CounterpartyConfig` and names its pieces; one line in
`INSTALLED_APPS` (`"integrations.tomda.apps.TomdaConfig"`) enables it. At start-up `ready()` puts each piece where the
rest of the system looks for it:

- the adapter in the domain's registry (`chargers.vendor.registry`), for a vendor that runs chargers;
- the inbox protocol (envelope, codes, dedupe, and its processor's `apply`) in the inbox's registry;
- the outbox's delivery handlers, by kind;
- its statement source in the daily close's registry (`orders.reconciliation.sources.statement_sources`);
- the start-up checks of its settings, in Django's check framework;
- its URLs under `/integrations/<url_prefix>/` (`integrations/urls.py`) and its periodic tasks
  (`integrations/schedules.py`), which `integrations` reads from the enabled counterparties.

Nothing else names a counterparty: `integrations` loops over `counterparties()`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from django.apps import AppConfig, apps
from django.core import checks
from django.core.exceptions import ImproperlyConfigured


@dataclass(frozen=True)
class PeriodicTask:
    """A django-q2 schedule the code owns; `name` is its stable identifier and never changes.

    Every `minutes`, or (`daily_at`, "HH:MM" Asia/Shanghai) once a day at that time.
    """

    name: str
    func: str
    minutes: int = 0
    schedule_type: str = "I"  # django_q.models.Schedule.MINUTES
    daily_at: str = ""

    def __post_init__(self):
        if self.daily_at:
            object.__setattr__(self, "schedule_type", "D")  # django_q.models.Schedule.DAILY


@dataclass(frozen=True)
class StartupCheck:
    """A system check of a counterparty's settings; `deploy` ones run only with `check --deploy`."""

    func: Callable
    deploy: bool = False
    tags: tuple[str, ...] = ()


class CounterpartyConfig(AppConfig):
    """Subclasses set `counterparty` (an `integrations.models.Counterparty` value) and override what they have."""

    counterparty: ClassVar[str]
    # The path under /integrations/ its URLs live at; the counterparty's code unless it says otherwise.
    url_prefix: ClassVar[str] = ""

    def adapter(self):
        """The factory of its `chargers.vendor.VendorAdapter`, for a vendor that runs chargers."""
        return None

    def inbox(self):
        """Its `integrations.inbox.InboxProtocol`, for a counterparty that pushes to us."""
        return None

    def urlpatterns(self) -> list:
        return []

    def schedules(self) -> tuple[PeriodicTask, ...]:
        return ()

    def startup_checks(self) -> tuple[StartupCheck, ...]:
        return ()

    def statement_source(self):
        """Its `orders.reconciliation.sources.StatementSource`, for a counterparty the daily close compares."""
        return None

    def delivery_handlers(self) -> dict[str, Callable]:
        """Outbox handlers by delivery kind, for a counterparty we notify."""
        return {}

    # JSON fields of its answers masked where the outbox keeps them (a token it echoes, a key).
    redacted_fields: ClassVar[frozenset[str]] = frozenset()
    # Delivery kinds whose deliveries about one order reach the receiver in the order they were written.
    in_order_kinds: ClassVar[frozenset[str]] = frozenset()

    def prefix(self) -> str:
        return self.url_prefix or self.counterparty

    def ready(self):
        from chargers.vendor import registry
        from integrations.inbox import inbox_protocol_register
        from integrations.models import Counterparty
        from integrations.outbox import delivery_handler_register
        from orders.reconciliation.sources import statement_sources

        if self.counterparty not in Counterparty.values:
            raise ImproperlyConfigured(
                f"{self.name}: counterparty {self.counterparty!r} is not one of {Counterparty.values}."
            )
        adapter = self.adapter()
        if adapter is not None:
            registry.register(self.counterparty, adapter)
        protocol = self.inbox()
        if protocol is not None:
            inbox_protocol_register(protocol)
        source = self.statement_source()
        if source is not None:
            statement_sources.register(source)
        for kind, handler in self.delivery_handlers().items():
            delivery_handler_register(kind, handler, redacted=self.redacted_fields,
                                      in_order=kind in self.in_order_kinds)
        for check in self.startup_checks():
            checks.register(check.func, *check.tags, deploy=check.deploy)


def counterparties() -> list[CounterpartyConfig]:
    """The enabled counterparties, in the order of INSTALLED_APPS."""
    return [config for config in apps.get_app_configs() if isinstance(config, CounterpartyConfig)]
