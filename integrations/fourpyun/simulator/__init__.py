"""4pyun's open platform (P云, the parking platform) on loopback: the two sync endpoints we call and the pushes it
sends us about our orders, over real HTTP.

End-to-end tests point our 4pyun client and push receiver at it, and `manage.py fourpyun_simulator` runs it for
the demo. It plays the vendor, so it imports nothing of the back office but the simulation kit
(`integrations.simulation`) and 4pyun's signature (`integrations.fourpyun.signing`, no Django in it, checked
against 4pyun's published vectors): its paths, codes, words and field checks are its own reading of 4pyun's
pages, so it checks our client rather than agreeing with it by construction.

`FourpyunSimulator` (cloud.py) answers `POST /gate/1.0/energy/internal/replenish/sync` (charging records) and
`.../device/sync` (devices) with 4pyun's envelope, checking in 4pyun's order: a JSON object, the app_id, the
signature (`Authorization`: MD5 of the exact body and `&app_secret=`), the timestamp's ten minutes, sign_type,
then the fields (checks.py); it keeps what it accepted and every request with its answer (state.py), fails on
purpose when told, and pushes back what it knows of an order as a signed form (pushes.py). protocol.py holds the
paths, codes, words, times and the plate rule.
"""

from integrations.fourpyun.simulator.checks import check_device, check_record
from integrations.fourpyun.simulator.cloud import FourpyunSimulator
from integrations.fourpyun.simulator.protocol import (
    BEIJING,
    CHARGING_STATUS,
    DEVICE_PATH,
    ORDER_INFO,
    PLATE,
    PUSH_NAMES,
    RECORD_PATH,
    START_RESULT,
    STOP_RESULT,
    ApiError,
    local_time,
    parse_utc,
)
from integrations.fourpyun.simulator.pushes import PushRecord, PushSender, order_fields, result_fields, signed_fields
from integrations.fourpyun.simulator.state import AcceptedRecord, DeviceSync, SeenRequest, record_key

__all__ = [
    "BEIJING",
    "CHARGING_STATUS",
    "DEVICE_PATH",
    "ORDER_INFO",
    "PLATE",
    "PUSH_NAMES",
    "RECORD_PATH",
    "START_RESULT",
    "STOP_RESULT",
    "AcceptedRecord",
    "ApiError",
    "DeviceSync",
    "FourpyunSimulator",
    "PushRecord",
    "PushSender",
    "SeenRequest",
    "check_device",
    "check_record",
    "local_time",
    "order_fields",
    "parse_utc",
    "record_key",
    "result_fields",
    "signed_fields",
]
