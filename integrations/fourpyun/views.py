"""The push endpoints 4pyun posts to: the inbox's receiver speaking 4pyun's protocol.

POST /integrations/4pyun/push/<name>: start-result, stop-result, charging-status, order-info.
"""

from integrations.inbox.views import kind_receiver
from integrations.models import Counterparty

fourpyun_push = kind_receiver(Counterparty.FOURPYUN)
