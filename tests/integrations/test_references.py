"""What a vendor's push refers to, found or refused, for any vendor.

The worker's lookups read the database every time and refuse a charger, connector or order we lack
(or that is another vendor's). The receiver's checks refuse the same things but remember what they
found, so a stream of pushes about the same chargers and sessions costs no query; a connector added
since is found by asking again, a charger whose description is waiting to be applied is accepted,
and an order number that is not ours is refused without a query for a minute.
"""

import pytest

from chargers.models import Vendor
from integrations.inbox.protocol import InboundRejected
from integrations.inbox.references import References
from integrations.models import InboundStatus, RejectReason
from tests.chargers.factories import ChargerFactory, ConnectorFactory
from tests.integrations.factories import InboundMessageFactory
from tests.orders.factories import OrderFactory

pytestmark = pytest.mark.django_db

SERIAL = "WZ0000000001"
DESCRIBING = "DEVICE_DESCRIPTION"
FOREIGN_ORDER = "20261121100000999999"


@pytest.fixture
def references():
    return References(Vendor.WANZHUANG, describing_kind=DESCRIBING)


def wanzhuang_charger(serial=SERIAL, *, connectors=(1,)):
    charger = ChargerFactory(vendor=Vendor.WANZHUANG, serial=serial, device_type_code="WZ_EV7")
    for number in connectors:
        ConnectorFactory(charger=charger, number=number)
    return charger


def order_on(charger, number=1):
    return OrderFactory(connector=charger.connectors.get(number=number))


class Clock:
    """A monotonic clock that moves only when told."""

    def __init__(self):
        self.now = 1000.0

    def monotonic(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr("integrations.inbox.known.time", clock)
    return clock


# --- the worker's lookups ---------------------------------------------------------------------------------


def test_the_worker_finds_a_charger_of_its_vendor_by_serial(references):
    # Given a Wanzhuang charger
    charger = wanzhuang_charger()

    # When the worker looks it up, Then it is found
    assert references.charger(SERIAL) == charger


def test_the_worker_refuses_a_charger_we_lack_naming_its_serial(references):
    # Given no charger WZ0000000001
    # When the worker looks it up, Then it is refused as an unknown charger
    with pytest.raises(InboundRejected) as refused:
        references.charger(SERIAL)
    assert refused.value.reason == RejectReason.UNKNOWN_CHARGER
    assert SERIAL in refused.value.message


def test_the_worker_does_not_find_another_vendors_charger_of_the_same_serial(references):
    # Given a Tomda charger with the serial a Wanzhuang push names
    ChargerFactory(vendor=Vendor.TOMDA, serial=SERIAL)

    # When the Wanzhuang worker looks it up, Then it is refused
    with pytest.raises(InboundRejected) as refused:
        references.charger(SERIAL)
    assert refused.value.reason == RejectReason.UNKNOWN_CHARGER


def test_the_worker_reads_the_database_even_when_the_receiver_remembers_the_charger(references):
    # Given a charger the receiver saw to exist, deleted since
    charger = wanzhuang_charger()
    references.check_charger(SERIAL, [1])
    charger.delete()

    # When the worker looks it up, Then it is refused all the same
    with pytest.raises(InboundRejected) as refused:
        references.charger(SERIAL)
    assert refused.value.reason == RejectReason.UNKNOWN_CHARGER


def test_the_worker_finds_a_connector_of_the_charger_by_number(references):
    # Given a charger with connectors 1 and 2
    charger = wanzhuang_charger(connectors=(1, 2))

    # When the worker looks up connector 2, Then it is that charger's connector 2
    connector = references.connector(charger, 2)
    assert (connector.charger_id, connector.number) == (charger.pk, 2)


def test_the_worker_refuses_a_connector_the_charger_lacks_even_if_another_charger_has_it(references):
    # Given a charger with connector 1 only, and another charger with connector 2
    charger = wanzhuang_charger(connectors=(1,))
    wanzhuang_charger("WZ0000000002", connectors=(2,))

    # When the worker looks up connector 2 of the first, Then it is refused naming charger and number
    with pytest.raises(InboundRejected) as refused:
        references.connector(charger, 2)
    assert refused.value.reason == RejectReason.UNKNOWN_CONNECTOR
    assert SERIAL in refused.value.message
    assert "2" in refused.value.message


def test_the_worker_finds_an_order_on_the_charger_it_names_or_on_any_when_none_is_named(references):
    # Given an order on a Wanzhuang charger
    charger = wanzhuang_charger()
    order = order_on(charger)

    # When the worker looks it up with its charger, or with none, Then it is found
    assert references.order(order.order_no, charger=charger) == order
    assert references.order(order.order_no) == order


def test_the_worker_refuses_an_order_on_another_charger_naming_the_charger(references):
    # Given an order on one Wanzhuang charger
    order = order_on(wanzhuang_charger())
    other = wanzhuang_charger("WZ0000000002")

    # When the worker looks it up on another, Then it is refused as an unknown order
    with pytest.raises(InboundRejected) as refused:
        references.order(order.order_no, charger=other)
    assert refused.value.reason == RejectReason.UNKNOWN_ORDER
    assert order.order_no in refused.value.message
    assert "WZ0000000002" in refused.value.message


def test_the_worker_refuses_an_order_we_lack(references):
    # Given no order FOREIGN_ORDER
    # When the worker looks it up, Then it is refused
    with pytest.raises(InboundRejected) as refused:
        references.order(FOREIGN_ORDER)
    assert refused.value.reason == RejectReason.UNKNOWN_ORDER
    assert FOREIGN_ORDER in refused.value.message


def test_the_worker_does_not_find_an_order_of_another_vendors_charger(references):
    # Given an order on a Tomda charger
    tomda = ChargerFactory(vendor=Vendor.TOMDA, serial="1012300001")
    order = OrderFactory(connector=ConnectorFactory(charger=tomda, number=1))

    # When the Wanzhuang worker looks it up, Then it is refused
    with pytest.raises(InboundRejected) as refused:
        references.order(order.order_no)
    assert refused.value.reason == RejectReason.UNKNOWN_ORDER


# --- the receiver's charger check -------------------------------------------------------------------------


def test_the_receiver_accepts_a_charger_and_its_connectors_then_remembers_them(references, django_assert_num_queries):
    # Given a charger with connectors 1 and 2, checked once
    wanzhuang_charger(connectors=(1, 2))
    with django_assert_num_queries(2):
        references.check_charger(SERIAL, [1, 2])

    # When it is checked again, Then it is accepted without a query
    with django_assert_num_queries(0):
        references.check_charger(SERIAL, [2])
        references.check_charger(SERIAL)


def test_the_receiver_refuses_a_charger_we_lack(references):
    # Given no charger WZ0000000001
    # When the receiver checks it, Then it is refused naming its serial
    with pytest.raises(InboundRejected) as refused:
        references.check_charger(SERIAL)
    assert refused.value.reason == RejectReason.UNKNOWN_CHARGER
    assert SERIAL in refused.value.message


def test_the_receiver_refuses_another_vendors_charger_of_the_same_serial(references):
    # Given a Tomda charger with the serial a Wanzhuang push names
    ChargerFactory(vendor=Vendor.TOMDA, serial=SERIAL)

    # When the Wanzhuang receiver checks it, Then it is refused
    with pytest.raises(InboundRejected) as refused:
        references.check_charger(SERIAL)
    assert refused.value.reason == RejectReason.UNKNOWN_CHARGER


def test_the_receiver_accepts_a_charger_imported_after_it_was_refused(references):
    # Given a charger refused because we lacked it
    with pytest.raises(InboundRejected):
        references.check_charger(SERIAL)

    # When it is imported and checked again, Then it is accepted (a refusal is not remembered)
    wanzhuang_charger()
    references.check_charger(SERIAL, [1])


def test_the_receiver_refuses_a_connector_the_charger_lacks(references):
    # Given a charger with connector 1 only
    wanzhuang_charger(connectors=(1,))

    # When the receiver checks connectors 1 and 3, Then connector 3 is refused
    with pytest.raises(InboundRejected) as refused:
        references.check_charger(SERIAL, [1, 3])
    assert refused.value.reason == RejectReason.UNKNOWN_CONNECTOR
    assert SERIAL in refused.value.message
    assert "3" in refused.value.message


def test_the_receiver_finds_a_connector_added_after_it_remembered_the_charger(references, django_assert_num_queries):
    # Given a charger with connector 1, remembered by the receiver
    charger = wanzhuang_charger(connectors=(1,))
    references.check_charger(SERIAL, [1])

    # When connector 2 is added and named in a push
    ConnectorFactory(charger=charger, number=2)

    # Then it is accepted, and remembered from then on
    references.check_charger(SERIAL, [2])
    with django_assert_num_queries(0):
        references.check_charger(SERIAL, [1, 2])


def test_the_receiver_accepts_a_charger_whose_description_waits_to_be_applied(references):
    # Given no charger WZ0000000001, but its description stored and not yet applied
    InboundMessageFactory(
        vendor=Vendor.WANZHUANG,
        kind=DESCRIBING,
        charger_serial=SERIAL,
        status=InboundStatus.RECEIVED,
        processed_at=None,
    )

    # When the receiver checks it (and a connector), Then it is accepted
    references.check_charger(SERIAL, [1])


@pytest.mark.parametrize(
    "stored",
    [
        pytest.param({"status": InboundStatus.PROCESSED}, id="already-applied"),
        pytest.param({"status": InboundStatus.REJECTED}, id="refused"),
        pytest.param({"kind": "STATUS"}, id="not-a-description"),
        pytest.param({"vendor": Vendor.TOMDA}, id="of-another-vendor"),
        pytest.param({"charger_serial": "WZ0000000002"}, id="of-another-charger"),
    ],
)
def test_the_receiver_refuses_a_charger_we_lack_whose_description_is_not_waiting(references, stored):
    # Given no charger WZ0000000001, and a stored push that is not its waiting description
    fields = {
        "vendor": Vendor.WANZHUANG,
        "kind": DESCRIBING,
        "charger_serial": SERIAL,
        "status": InboundStatus.RECEIVED,
        **stored,
    }
    InboundMessageFactory(**fields)

    # When the receiver checks it, Then it is refused
    with pytest.raises(InboundRejected) as refused:
        references.check_charger(SERIAL)
    assert refused.value.reason == RejectReason.UNKNOWN_CHARGER


def test_a_receiver_without_a_describing_kind_refuses_a_charger_we_lack_whatever_is_stored():
    # Given no charger WZ0000000001, and a waiting push of kind "" about it
    InboundMessageFactory(vendor=Vendor.WANZHUANG, kind="", charger_serial=SERIAL, status=InboundStatus.RECEIVED)

    # When a vendor whose chargers never describe themselves checks it, Then it is refused
    with pytest.raises(InboundRejected) as refused:
        References(Vendor.WANZHUANG).check_charger(SERIAL)
    assert refused.value.reason == RejectReason.UNKNOWN_CHARGER


# --- the receiver's order check ---------------------------------------------------------------------------


def test_the_receiver_accepts_an_order_on_its_charger_then_remembers_it(references, django_assert_num_queries):
    # Given an order on a Wanzhuang charger, checked once
    order = order_on(wanzhuang_charger())
    with django_assert_num_queries(1):
        references.check_order(order.order_no, SERIAL)

    # When it is checked again, with its charger or with none, Then it is accepted without a query
    with django_assert_num_queries(0):
        references.check_order(order.order_no, SERIAL)
        references.check_order(order.order_no, None)


def test_the_receiver_refuses_an_order_on_another_charger_when_found_and_when_remembered(references):
    # Given an order on WZ0000000001
    order = order_on(wanzhuang_charger())

    # When a push names it on WZ0000000002, first looked up, then from the memo,
    # Then it is refused both times, naming the charger
    for _time in ("looked up", "remembered"):
        with pytest.raises(InboundRejected) as refused:
            references.check_order(order.order_no, "WZ0000000002")
        assert refused.value.reason == RejectReason.UNKNOWN_ORDER
        assert "WZ0000000002" in refused.value.message
    # And on its own charger it is still accepted
    references.check_order(order.order_no, SERIAL)


def test_the_receiver_refuses_an_order_of_another_vendors_charger(references):
    # Given an order on a Tomda charger of the serial a Wanzhuang push names
    tomda = ChargerFactory(vendor=Vendor.TOMDA, serial=SERIAL)
    order = OrderFactory(connector=ConnectorFactory(charger=tomda, number=1))

    # When the Wanzhuang receiver checks it, Then it is refused
    with pytest.raises(InboundRejected) as refused:
        references.check_order(order.order_no, SERIAL)
    assert refused.value.reason == RejectReason.UNKNOWN_ORDER


def test_an_order_number_not_ours_is_refused_without_a_query_for_a_minute(references, clock, django_assert_num_queries):
    # Given an order number that is not ours, refused once after a lookup
    with django_assert_num_queries(1), pytest.raises(InboundRejected) as refused:
        references.check_order(FOREIGN_ORDER, SERIAL)
    assert refused.value.reason == RejectReason.UNKNOWN_ORDER
    assert FOREIGN_ORDER in refused.value.message

    # When it is named again within the minute, Then it is refused without a query
    clock.now += 59
    with django_assert_num_queries(0), pytest.raises(InboundRejected) as refused:
        references.check_order(FOREIGN_ORDER, SERIAL)
    assert refused.value.reason == RejectReason.UNKNOWN_ORDER

    # When it is named after the minute, Then it is looked up again
    clock.now += 2
    with django_assert_num_queries(1), pytest.raises(InboundRejected):
        references.check_order(FOREIGN_ORDER, SERIAL)


def test_what_one_vendors_receiver_remembers_does_not_refuse_for_another():
    # Given an order on a Tomda charger, which Wanzhuang's receiver remembered as not its own
    tomda = ChargerFactory(vendor=Vendor.TOMDA, serial="1012300001")
    order = OrderFactory(connector=ConnectorFactory(charger=tomda, number=1))
    with pytest.raises(InboundRejected):
        References(Vendor.WANZHUANG).check_order(order.order_no, "1012300001")

    # When Tomda's receiver checks it, Then it is accepted
    References(Vendor.TOMDA).check_order(order.order_no, "1012300001")
