"""The 2017 pile-operator interface's own words: its envelope, its codes, its times and its parameters.

The spec (桩企对接技术接口规范 V1.0.1) names the interfaces and their fields but no envelope, codes or token; those
are ours, documented in the OpenAPI schema and here. Every answer is `{"code": int, "msg": str, "data": ...}`:
code 0 is success, anything else a refusal whose `msg` names the parameter at fault in the spec's own name. The
HTTP status is 200 for every answer in the envelope, except 429 (throttled), 500 and 503, so that a partner reads
`code` and a load balancer still sees an overload.

Times are Beijing local "yyyy-MM-dd HH:mm:ss"; `time` of chargeStart is a Unix timestamp in seconds. Energy is
stated in kWh with three decimals and money in yuan with two, converted exactly from our Wh and fen, and written as
JSON numbers of exactly those digits ("12.30", never a float's "12.3" or 12.299999): `dumps` writes a Decimal as
its own text, and refuses a float.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from decimal import Decimal
from enum import IntEnum

from backoffice.days import BEIJING

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


class Code(IntEnum):
    OK = 0
    MISSING = 1001
    INVALID = 1002
    TIME_WINDOW = 1003
    METHOD = 1004
    NO_INTERFACE = 1005
    NO_TOKEN = 2001
    BAD_TOKEN = 2002
    EXPIRED_TOKEN = 2003
    BAD_CREDENTIALS = 2004
    DISABLED = 2005
    ORG_MISMATCH = 2006
    NO_STATION = 3001
    NO_STUB = 3002
    NO_GUN = 3003
    NO_ORDER = 3004
    OUT_ORDER_CONFLICT = 3005
    OFFLINE = 4001
    FAULT = 4002
    BUSY = 4003
    START_REFUSED = 4004
    STOP_REFUSED = 4005
    CANNOT_START = 4006
    THROTTLED = 4290
    SERVER_ERROR = 5000
    UNAVAILABLE = 5003


# Protocol text: Chinese, whatever the admin's language.
MESSAGES = {
    Code.OK: "成功",
    Code.MISSING: "缺少参数 {name}",
    Code.INVALID: "参数 {name} 无效：{why}",
    Code.TIME_WINDOW: "参数 time 超出允许范围：与服务器时间相差 {seconds} 秒，允许 ±{window} 秒",
    Code.METHOD: "不支持的请求方法 {method}，{name} 只接受 {allowed}",
    Code.NO_INTERFACE: "接口不存在：{name}",
    Code.NO_TOKEN: "缺少 token，请先调用 getToken 获取",
    Code.BAD_TOKEN: "token 无效，请调用 getToken 重新获取",
    Code.EXPIRED_TOKEN: "token 已过期，请调用 getToken 重新获取",
    Code.BAD_CREDENTIALS: "org 或 secret 错误",
    Code.DISABLED: "合作商已停用，请联系运营商",
    Code.ORG_MISMATCH: "参数 org（{org}）与 token 所属合作商不符",
    Code.NO_STATION: "桩群不存在或未向贵方开放：{id}",
    Code.NO_STUB: "桩不存在或未向贵方开放：{id}",
    Code.NO_GUN: "桩 {stub} 没有枪 {gun}",
    Code.NO_ORDER: "订单不存在：{id}",
    Code.OUT_ORDER_CONFLICT: "outOrderId {id} 已用于另一次充电（桩 {stub} 枪 {gun}），请换用新的订单编号",
    Code.OFFLINE: "桩 {stub} 离线，无法启动",
    Code.FAULT: "桩 {stub} 枪 {gun} {state}，无法启动",
    Code.BUSY: "桩 {stub} 枪 {gun} 已被占用",
    Code.START_REFUSED: "桩拒绝启动：{reason}",
    Code.STOP_REFUSED: "桩拒绝停止：{reason}",
    Code.CANNOT_START: "无法启动：{reason}",
    Code.THROTTLED: "请求过于频繁：{name} 每{period}至多 {count} 次，请 {wait} 秒后再试",
    Code.SERVER_ERROR: "系统错误，请稍后重试；如持续出现请联系运营商",
    Code.UNAVAILABLE: "系统繁忙，请稍后重试",
}

# The HTTP status of an answer in the envelope; the rest are 200. A wrong method is no answer of an interface: it
# is 405 with Allow, as the vendor receivers answer one, and still in the envelope.
HTTP_STATUS = {Code.METHOD: 405, Code.THROTTLED: 429, Code.SERVER_ERROR: 500, Code.UNAVAILABLE: 503}


class Refusal(Exception):
    """An answer other than success: its code, its message's values, and the data it carries (an order)."""

    def __init__(self, code: Code, data=None, **values):
        self.code = Code(code)
        self.values = values
        self.data = data
        super().__init__(self.msg)

    @property
    def msg(self) -> str:
        return MESSAGES[self.code].format(**self.values)


def envelope(code: Code = Code.OK, data=None, msg: str | None = None) -> dict:
    return {"code": int(code), "msg": MESSAGES[Code.OK] if msg is None and code == Code.OK else msg, "data": data}


# --- parameters -----------------------------------------------------------------------------------------------

PRINTABLE = re.compile(r"[\x21-\x7e]+")  # visible ASCII: what an id a program writes is made of
DIGITS = re.compile(r"[0-9]+")
LOCAL_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}")
# Times a partner may name: anything else is a typing error, and beyond year 9999 the database cannot hold it.
YEARS = (2000, 2099)


def required(params, name: str, *, max_length: int = 64, pattern: re.Pattern = PRINTABLE, why: str = "") -> str:
    """The parameter `name`, a string of at most `max_length` characters that `pattern` matches whole."""
    value = params.get(name)
    if value is None or value == "":
        raise Refusal(Code.MISSING, name=name)
    if not isinstance(value, str):
        raise Refusal(Code.INVALID, name=name, why="应为字符串")
    if len(value) > max_length:
        raise Refusal(Code.INVALID, name=name, why=f"最长 {max_length} 个字符")
    if not pattern.fullmatch(value):
        raise Refusal(Code.INVALID, name=name, why=why or "只能包含字母、数字和 ASCII 符号")
    return value


def optional_choice(params, name: str, choices: dict):
    value = params.get(name)
    if value is None or value == "":
        return None
    if value not in choices:
        raise Refusal(Code.INVALID, name=name, why="应为 " + "、".join(choices) + " 之一，或不传")
    return choices[value]


def local_time(params, name: str) -> datetime:
    why = "格式应为 yyyy-MM-dd HH:mm:ss（北京时间）"
    value = required(params, name, max_length=19, pattern=LOCAL_TIME, why=why)
    try:
        moment = datetime.strptime(value, TIME_FORMAT)  # noqa: DTZ007 (Beijing time, made aware below)
    except ValueError as exc:
        raise Refusal(Code.INVALID, name=name, why=why) from exc
    if not YEARS[0] <= moment.year <= YEARS[1]:
        raise Refusal(Code.INVALID, name=name, why=f"年份应在 {YEARS[0]}–{YEARS[1]} 之间")
    return moment.replace(tzinfo=BEIJING)


def unix_seconds(params, name: str) -> datetime:
    value = required(params, name, max_length=12, pattern=DIGITS, why="应为秒级 Unix 时间戳")
    seconds = int(value)
    if not 1_000_000_000 <= seconds <= 9_999_999_999:
        raise Refusal(Code.INVALID, name=name, why="应为秒级 Unix 时间戳（10 位数字）")
    return datetime.fromtimestamp(seconds, tz=BEIJING)


# --- values out ----------------------------------------------------------------------------------------------


def format_time(moment: datetime | None) -> str:
    return moment.astimezone(BEIJING).strftime(TIME_FORMAT) if moment else ""


def yuan(fen: int) -> Decimal:
    """Fen as yuan with two decimals, exactly: 1234 → Decimal("12.34")."""
    return (Decimal(fen) / 100).quantize(Decimal("0.01"))


def kwh(wh: int) -> Decimal:
    """Wh as kWh with three decimals, exactly: 12345 → Decimal("12.345")."""
    return (Decimal(wh) / 1000).quantize(Decimal("0.001"))


def fen_of(value) -> int:
    """Yuan as the partner read them (a JSON number, str or Decimal) back to fen; refuses more than two decimals."""
    amount = Decimal(str(value)) * 100
    if amount != amount.to_integral_value():
        raise ValueError(f"{value!r} is not a whole number of fen")
    return int(amount)


def wh_of(value) -> int:
    amount = Decimal(str(value)) * 1000
    if amount != amount.to_integral_value():
        raise ValueError(f"{value!r} is not a whole number of Wh")
    return int(amount)


def dumps(value) -> str:
    """`value` as JSON text, a Decimal as the number it is, digit for digit; compact, UTF-8 (not \\u-escaped)."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(key), ensure_ascii=False)}:{dumps(item)}"
                              for key, item in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(dumps(item) for item in value) + "]"
    if isinstance(value, float):
        raise TypeError("a float has no place in a partner answer: state the figure as a Decimal")
    return json.dumps(value, ensure_ascii=False)


def loads(text: str | bytes):
    """JSON read back with every number that has a fraction as a Decimal, exactly as written."""
    return json.loads(text, parse_float=Decimal)
