"""Every enabled counterparty provides each piece its folder promises, and is wired where it is looked for."""

import pytest
from django.core import checks
from django.urls import resolve, reverse

from chargers.vendor import VendorAdapter, registry
from integrations.counterparty import CounterpartyConfig, counterparties
from integrations.inbox import InboxProtocol, inbox_protocol
from integrations.models import Counterparty
from integrations.schedules import schedules_all

ENABLED = counterparties()


def test_the_counterparties_are_enabled_by_their_apps():
    assert [config.counterparty for config in ENABLED] == ["tomda", "wanzhuang", "fourpyun", "partner"]


@pytest.mark.parametrize("config", ENABLED, ids=lambda config: config.counterparty)
def test_each_counterparty_provides_an_adapter_an_inbox_or_the_deliveries_of_an_api_we_serve(
        config: CounterpartyConfig):
    from integrations.outbox import delivery_handler_get

    assert config.counterparty in Counterparty.values
    adapter, protocol, handlers = config.adapter(), config.inbox(), config.delivery_handlers()
    assert adapter is not None or protocol is not None or handlers
    for kind, handler in handlers.items():
        # Registered under its kind, where the outbox looks for it
        assert delivery_handler_get(kind) is handler
    if adapter is not None:
        # Registered under its code, where the domain looks for it
        assert isinstance(registry.get(config.counterparty), VendorAdapter)
        assert type(registry.get(config.counterparty)) is adapter
    if protocol is not None:
        registered = inbox_protocol(config.counterparty)
        assert type(registered) is type(protocol)
        for method in ("parse", "apply", "reply_ok", "reply_refused", "reply_unanswered", "reply_unstored"):
            assert getattr(type(registered), method) is not getattr(InboxProtocol, method), method
        # Its pushes reach a receiver view that the push middleware answers
        receivers = [pattern for pattern in config.urlpatterns() if getattr(pattern.callback, "inbox_receiver", False)]
        assert receivers
        for pattern in receivers:
            # A receiver per kind takes the kind in its path (Wanzhuang's callback/<name>).
            kwargs = {name: "start_power" for name in pattern.pattern.converters}
            path = reverse(pattern.name, kwargs=kwargs)
            assert path.startswith(f"/integrations/{config.prefix()}/")
            assert resolve(path).func is pattern.callback


@pytest.mark.parametrize("config", ENABLED, ids=lambda config: config.counterparty)
def test_each_counterparty_checks_its_settings_at_start_up(config: CounterpartyConfig):
    startup = config.startup_checks()
    assert startup
    for check in startup:
        registered = checks.registry.registry.get_checks(include_deployment_checks=check.deploy)
        assert check.func in registered


@pytest.mark.parametrize("config", ENABLED, ids=lambda config: config.counterparty)
def test_each_counterparty_schedules_are_among_all_schedules_under_its_own_names(config: CounterpartyConfig):
    names = [task.name for task in schedules_all()]
    assert len(names) == len(set(names))
    for task in config.schedules():
        assert task.name.startswith(f"{config.counterparty}_") and task.name in names


def test_the_partner_interface_is_served_where_partners_call_it():
    from integrations.partner.urls import INTERFACES

    for view in INTERFACES:
        assert resolve(f"/api/partner/v1/{view.interface}").func.view_class is view


def test_a_counterparty_that_names_no_known_counterparty_is_refused_at_start_up():
    from django.core.exceptions import ImproperlyConfigured

    import integrations.tomda

    class Stray(CounterpartyConfig):
        name = "integrations.tomda"
        label = "stray"
        counterparty = "nobody"

    with pytest.raises(ImproperlyConfigured, match="nobody"):
        Stray("integrations.tomda", integrations.tomda).ready()


@pytest.mark.parametrize("config", ENABLED, ids=lambda config: config.counterparty)
def test_each_counterparty_that_has_a_statement_source_is_in_the_daily_close(config: CounterpartyConfig):
    from orders.reconciliation.sources import StatementSource, statement_sources

    source = config.statement_source()
    if source is None:
        assert config.counterparty not in statement_sources.codes()
        return
    registered = statement_sources.get(config.counterparty)
    assert type(registered) is type(source) and registered.code == config.counterparty
    for method in ("orders", "records"):
        assert getattr(type(registered), method) is not getattr(StatementSource, method), method
