"""4pyun's open platform as the simulator speaks it: its paths, its codes and words, its envelope and its times.

Written from 4pyun's pages (doc.4pyun.com/openapi, the energy pages of `4PYun/4pyun-doc`) rather than from our
client, so the simulator checks our client against the document. The signature is the one thing taken from our
side (`integrations.fourpyun.signing`, which holds no Django and reproduces 4pyun's published vectors).
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from zoneinfo import ZoneInfo

RECORD_PATH = "/gate/1.0/energy/internal/replenish/sync"
DEVICE_PATH = "/gate/1.0/energy/internal/device/sync"
ROUTES = (RECORD_PATH, DEVICE_PATH)

# The pushes 4pyun sends about an order, by the last segment of our receiver's URL.
CHARGING_STATUS = "charging-status"
ORDER_INFO = "order-info"
START_RESULT = "start-result"
STOP_RESULT = "stop-result"
PUSH_NAMES = (CHARGING_STATUS, ORDER_INFO, START_RESULT, STOP_RESULT)

OK = "1001"
FAILED = "1500"
NOT_FOUND_1002 = "1002"
BAD_REQUEST = "400"
UNAUTHORISED = "401"
UNAVAILABLE = "503"
# 4pyun's own words for its codes, as its answers carry them in `message`.
MESSAGES = {
    FAILED: "失败",
    BAD_REQUEST: "请求参数错误",
    UNAUTHORISED: "请求签名校验不通过",
    UNAVAILABLE: "服务暂不可用",
    "404": "接口不存在",
    "500": "系统繁忙",
}
STATION_UNKNOWN = "充电站不存在"
SIGNATURE_REFUSED = "请求签名校验不通过"

SIGN_TYPE = "MD5"
# 4pyun takes a request whose timestamp is within ten minutes of its clock, either way.
TIMESTAMP_WINDOW = dt.timedelta(minutes=10)
DATA_NODE = "CN-South/SIM-1"

BEIJING = ZoneInfo("Asia/Shanghai")
# A charging record's times: UTC with milliseconds, e.g. 2025-09-17T06:14:08.320Z.
UTC_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
UTC_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
# A push's times: Beijing local, no zone, e.g. 2025-09-17 14:14:08.
LOCAL_FORMAT = "%Y-%m-%d %H:%M:%S"

# Chinese plates as 4pyun checks them: the province's character, the office's letter (never I or O), then five
# letters or digits (ordinary; the last may be 挂 学 警 港 澳 领 使) or six for a new-energy plate: D or F, a letter
# or digit and four digits (small cars), or five digits and D or F (large vehicles). The page's own example
# (川A660N11) fits neither; 4pyun's check is what refuses plates, so the simulator keeps to the rule.
PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_LETTER = "A-HJ-NP-Z"
PLATE = re.compile(
    rf"^[{PROVINCES}][{_LETTER}]"
    rf"(?:[{_LETTER}0-9]{{4}}[{_LETTER}0-9挂学警港澳领使]|[DF][{_LETTER}0-9][0-9]{{4}}|[0-9]{{5}}[DF])$"
)


class ApiError(Exception):
    """An answer other than success: its HTTP status, 4pyun's code, message and hint."""

    def __init__(self, status: int, code: str, message: str | None = None, hint: str | None = None):
        super().__init__(f"{status} {code} {message or ''} {hint or ''}".strip())
        self.status = status
        self.code = code
        self.message = MESSAGES.get(code) if message is None else message
        self.hint = hint


def bad_request(hint: str) -> ApiError:
    return ApiError(400, BAD_REQUEST, hint=hint)


def seqno() -> str:
    """A request's sequence number as 4pyun writes it: 32 digits."""
    return f"{secrets.randbelow(10**32):032d}"


def envelope(code: str, *, message: str | None = None, hint: str | None = None, time_cost: int = 0) -> dict:
    """4pyun's answer; `message` and `hint` only when they say something, as its answers leave them out."""
    answer: dict = {"code": code}
    if message:
        answer["message"] = message
    if hint:
        answer["hint"] = hint
    answer |= {"seqno": seqno(), "data_node": DATA_NODE, "time_cost": time_cost}
    return answer


def parse_utc(text: str) -> dt.datetime | None:
    """A record's time (`2025-09-17T06:14:08.320Z`) as an aware datetime; None for anything else."""
    if not isinstance(text, str) or not UTC_TIME.match(text):
        return None
    try:
        return dt.datetime.strptime(text, UTC_FORMAT).replace(tzinfo=dt.UTC)
    except ValueError:  # the shape of a time, not a real one (month 13, 25 o'clock)
        return None


def local_time(moment: dt.datetime) -> str:
    """An aware datetime as a push writes it: Beijing local `yyyy-MM-dd HH:mm:ss`."""
    return moment.astimezone(BEIJING).strftime(LOCAL_FORMAT)


def timestamp_ms(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1000)
