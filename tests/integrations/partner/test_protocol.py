"""The interface's own words without a database: yuan and kWh converted exactly both ways and on the wire, and the
parameters of time refused with the parameter named."""

import datetime as dt
import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rest_framework.utils.encoders import JSONEncoder

from backoffice.days import BEIJING
from integrations.partner.protocol import (
    Code,
    Refusal,
    envelope,
    fen_of,
    format_time,
    kwh,
    local_time,
    required,
    unix_seconds,
    wh_of,
    yuan,
)

AMOUNTS = st.integers(min_value=0, max_value=10**9)


def on_the_wire(value):
    """A figure as our API writes it (DRF's encoder) and a partner reads it exactly (numbers as Decimal)."""
    return json.loads(json.dumps({"v": value}, cls=JSONEncoder), parse_float=Decimal)["v"]


@pytest.mark.parametrize(
    ("fen", "text"), [(0, "0.00"), (1, "0.01"), (10, "0.10"), (1234, "12.34"), (100_000_000_000, "1000000000.00")])
def test_yuan_has_two_decimals_exactly(fen, text):
    assert str(yuan(fen)) == text


@pytest.mark.parametrize(("wh", "text"), [(0, "0.000"), (1, "0.001"), (12_345, "12.345"), (60_000, "60.000")])
def test_kwh_has_three_decimals_exactly(wh, text):
    assert str(kwh(wh)) == text


@given(AMOUNTS)
def test_fen_round_trips_through_yuan_and_the_wire(fen):
    assert yuan(fen).as_tuple().exponent == -2
    assert fen_of(yuan(fen)) == fen
    assert fen_of(str(yuan(fen))) == fen
    assert on_the_wire(yuan(fen)) == yuan(fen)
    assert fen_of(on_the_wire(yuan(fen))) == fen


@given(AMOUNTS)
def test_wh_round_trips_through_kwh_and_the_wire(wh):
    assert kwh(wh).as_tuple().exponent == -3
    assert wh_of(kwh(wh)) == wh
    assert on_the_wire(kwh(wh)) == kwh(wh)
    assert wh_of(on_the_wire(kwh(wh))) == wh


@given(AMOUNTS, AMOUNTS)
def test_a_sum_in_yuan_is_the_yuan_of_the_sum_in_fen(electricity, service):
    assert yuan(electricity) + yuan(service) == yuan(electricity + service)


@pytest.mark.parametrize(("convert", "value"), [(fen_of, "0.001"), (fen_of, 12.345), (wh_of, "0.0001"),
                                                 (wh_of, Decimal("1.2345"))])
def test_a_figure_finer_than_a_fen_or_a_wh_is_refused(convert, value):
    with pytest.raises(ValueError, match="is not a whole number"):
        convert(value)


def test_a_float_read_from_json_converts_exactly():
    assert (fen_of(12.3), fen_of(0.07), wh_of(12.345), wh_of(0.1)) == (1230, 7, 12_345, 100)


# --- parameters -----------------------------------------------------------------------------------------------


def refusal(parse, params, name):
    with pytest.raises(Refusal) as caught:
        parse(params, name)
    return caught.value.code, caught.value.msg


def test_unix_seconds_reads_a_ten_digit_timestamp_as_beijing_time():
    moment = unix_seconds({"time": "1764640800"}, "time")

    assert moment == dt.datetime(2025, 12, 2, 10, 0, tzinfo=BEIJING)
    assert moment.utcoffset() == dt.timedelta(hours=8)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, (Code.MISSING, "缺少参数 time")),
        ("", (Code.MISSING, "缺少参数 time")),
        ("abc", (Code.INVALID, "参数 time 无效：应为秒级 Unix 时间戳")),
        ("1764640800.5", (Code.INVALID, "参数 time 无效：应为秒级 Unix 时间戳")),
        ("-1764640800", (Code.INVALID, "参数 time 无效：应为秒级 Unix 时间戳")),
        ("1764640800000", (Code.INVALID, "参数 time 无效：最长 12 个字符")),  # milliseconds
        ("176464080", (Code.INVALID, "参数 time 无效：应为秒级 Unix 时间戳（10 位数字）")),
        ("17646408000", (Code.INVALID, "参数 time 无效：应为秒级 Unix 时间戳（10 位数字）")),
        ("999999999", (Code.INVALID, "参数 time 无效：应为秒级 Unix 时间戳（10 位数字）")),
    ],
)
def test_unix_seconds_refuses_what_is_no_timestamp_in_seconds(value, expected):
    params = {} if value is None else {"time": value}

    assert refusal(unix_seconds, params, "time") == expected


@pytest.mark.parametrize("value", ["1000000000", "9999999999"])
def test_unix_seconds_takes_the_first_and_the_last_ten_digit_timestamp(value):
    assert unix_seconds({"time": value}, "time") == dt.datetime.fromtimestamp(int(value), tz=BEIJING)


def test_local_time_reads_beijing_time():
    moment = local_time({"startTim": "2026-12-01 00:00:00"}, "startTim")

    assert moment == dt.datetime(2026, 11, 30, 16, 0, tzinfo=dt.UTC)
    assert format_time(moment) == "2026-12-01 00:00:00"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, (Code.MISSING, "缺少参数 startTim")),
        ("2026-12-01", (Code.INVALID, "参数 startTim 无效：格式应为 yyyy-MM-dd HH:mm:ss（北京时间）")),
        ("2026/12/01 00:00:00", (Code.INVALID, "参数 startTim 无效：格式应为 yyyy-MM-dd HH:mm:ss（北京时间）")),
        ("2026-12-01T00:00:00", (Code.INVALID, "参数 startTim 无效：格式应为 yyyy-MM-dd HH:mm:ss（北京时间）")),
        ("2026-12-01 24:00:00", (Code.INVALID, "参数 startTim 无效：格式应为 yyyy-MM-dd HH:mm:ss（北京时间）")),
        ("2026-02-29 00:00:00", (Code.INVALID, "参数 startTim 无效：格式应为 yyyy-MM-dd HH:mm:ss（北京时间）")),
        ("2026-12-01 00:00:00Z", (Code.INVALID, "参数 startTim 无效：最长 19 个字符")),
        ("1764518400", (Code.INVALID, "参数 startTim 无效：格式应为 yyyy-MM-dd HH:mm:ss（北京时间）")),
    ],
)
def test_local_time_refuses_anything_but_the_specs_format(value, expected):
    params = {} if value is None else {"startTim": value}

    assert refusal(local_time, params, "startTim") == expected


def test_a_required_text_is_visible_ascii_of_at_most_its_length():
    assert required({"outOrderId": "DD-2026/12#01"}, "outOrderId") == "DD-2026/12#01"
    assert refusal(lambda params, name: required(params, name), {"outOrderId": "a b"}, "outOrderId") == (
        Code.INVALID, "参数 outOrderId 无效：只能包含字母、数字和 ASCII 符号")
    assert refusal(lambda params, name: required(params, name), {"outOrderId": "x" * 65}, "outOrderId") == (
        Code.INVALID, "参数 outOrderId 无效：最长 64 个字符")


def test_every_answer_has_the_envelope():
    assert envelope() == {"code": 0, "msg": "成功", "data": None}
    assert envelope(Code.NO_ORDER, None, "订单不存在：1") == {"code": 3004, "msg": "订单不存在：1", "data": None}
