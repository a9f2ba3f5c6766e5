import pytest
from django.utils import translation

from chargers.vendor import (
    StartCommand,
    VendorAdapter,
    VendorNotConfigured,
    VendorOperationNotSupported,
    VendorRegistry,
    registry,
    vendor_adapter_for,
)
from tests.chargers.factories import ChargerFactory


class RebootOnly(VendorAdapter):
    code = "acme"

    def __init__(self):
        self.rebooted = []

    def charger_reboot(self, *, serial):
        self.rebooted.append(serial)


def test_registry_returns_the_adapter_registered_for_a_vendor_code():
    reg = VendorRegistry()
    adapter = RebootOnly()
    reg.register("acme", lambda: adapter)

    reg.get("acme").charger_reboot(serial="X1")

    assert adapter.rebooted == ["X1"]
    assert reg.codes() == ["acme"]


def test_an_unregistered_vendor_is_a_clear_error_in_the_operators_language():
    with (
        translation.override("en"),
        pytest.raises(VendorNotConfigured, match="No adapter is configured for vendor nobody"),
    ):
        VendorRegistry().get("nobody")
    with translation.override("zh-hans"), pytest.raises(VendorNotConfigured, match="厂商 nobody 尚未配置对接适配器"):
        VendorRegistry().get("nobody")


def test_registering_a_second_adapter_for_a_vendor_is_refused():
    reg = VendorRegistry()
    reg.register("acme", RebootOnly)

    with pytest.raises(ValueError, match="already registered"):
        reg.register("acme", lambda: RebootOnly())


def test_operations_the_vendor_lacks_say_so():
    adapter = RebootOnly()
    command = StartCommand(
        order_no="20261121120000000001",
        serial="X1",
        connector_number=1,
        kind="ev",
        strategy="full",
        strategy_param=0,
    )

    with pytest.raises(VendorOperationNotSupported) as excinfo:
        adapter.session_start(command=command)
    assert excinfo.value.vendor == "acme"
    assert "session_start" in str(excinfo.value)


@pytest.mark.django_db
def test_a_charger_finds_its_adapter_by_vendor_code():
    charger = ChargerFactory(vendor="acme")
    adapter = RebootOnly()
    registry.register("acme", lambda: adapter)
    try:
        vendor_adapter_for(charger).charger_reboot(serial=charger.serial)
    finally:
        registry.unregister("acme")

    assert adapter.rebooted == [charger.serial]
