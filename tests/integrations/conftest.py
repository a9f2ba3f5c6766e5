"""Fixtures of the integrations tests: a counterparty's inbox protocol that tests steer."""

import pytest

from integrations.inbox import InboxProtocol, Parsed
from integrations.inbox import protocol as inbox_protocol_module
from integrations.models import Counterparty


@pytest.fixture
def partner_processor(monkeypatch):
    """The partner's inbox protocol; applying fails for the bodies in `failures` (say, about a charger not yet
    imported)."""

    class PartnerInbox(InboxProtocol):
        vendor = Counterparty.PARTNER
        allowed_ips_setting = "PARTNER_PUSH_ALLOWED_IPS"

        def __init__(self):
            self.failures = {}
            self.seen = []

        def parse(self, *, body, content_type, received_at=None, kind=""):
            return Parsed(kind="notification_start_charge_result", record=body.decode())

        def apply(self, pushes):
            for push in pushes:
                if push.record in self.failures:
                    raise self.failures[push.record]
                self.seen.append(push.record)

    processor = PartnerInbox()
    # Restored after the test, so a real partner protocol registered at start-up is back.
    monkeypatch.setitem(inbox_protocol_module._protocols, Counterparty.PARTNER, processor)
    return processor
