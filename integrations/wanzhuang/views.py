"""The callback endpoints Wanzhuang posts to: the inbox's receiver speaking Wanzhuang's protocol.

POST /integrations/wanzhuang/callback/<name>: start_power, finish_order, icc_pay_req, offline_profit.
"""

from integrations.inbox.views import kind_receiver
from integrations.models import Counterparty

wanzhuang_callback = kind_receiver(Counterparty.WANZHUANG)
