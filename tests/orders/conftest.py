import pytest

from orders.reconciliation.sources import statement_sources
from tests.orders.factories import PartnerFactory
from tests.orders.ledger import LedgerSource


@pytest.fixture
def ledger(db):
    """The ledger as the only counterparty of the daily close (the registered ones are put back after)."""
    others = list(statement_sources)
    for other in others:
        statement_sources.unregister(other.code)
    source = LedgerSource(PartnerFactory())
    statement_sources.register(source)
    yield source
    statement_sources.unregister(source.code)
    for other in others:
        statement_sources.register(other)
