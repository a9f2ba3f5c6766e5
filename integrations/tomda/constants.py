"""Facts of the Tomda cloud protocol (spec section 4 and appendix 4), kept as data.

The client and its tests read these tables; the tests check them against the appendix, so a change
here is a change of what we believe Tomda does, not of how we code it.
"""

from __future__ import annotations

VENDOR = "tomda"

# Every answer carries errorCode; this one means success (sent as a string, sometimes as a number).
SUCCESS_CODE = "200"
# The token expired: Tomda did not act on the request, so the request may be repeated with a new token.
TOKEN_EXPIRED_CODE = "1300"  # noqa: S105 - an error code, not a secret

# API paths, relative to the configured base URL (…/Manage). Spec 4.2, 4.4 to 4.6.
TOKEN_PATH = "/api/sys/token/get"  # noqa: S105 - a path, not a secret
RESERVE_PATH = "/api/sys/charger/order"
RESERVATION_CANCEL_PATH = "/api/sys/charger/cancel"
START_PATH = "/api/sys/charger/start"
STOP_PATH = "/api/sys/charger/stop"
PROGRESS_PATH = "/api/sys/charger/sync"
FEE_SET_PATH = "/api/sys/charger/fee"
STATION_SYNC_PATH = "/api/sys/station/sync"
FEE_TEMPLATE_SYNC_PATH = "/api/sys/station/elecFeeInfo"
CHARGER_LIST_PATH = "/api/sys/charger/list"
CHARGER_DETAIL_PATH = "/api/sys/charger/info"

# chargerType of the start call (spec 4.5.3).
CHARGER_TYPE_EV = 1
CHARGER_TYPE_EBIKE = 2

# chargeStrategy of the start call and the unit of its chargeStrategyParam (spec 4.5.3).
STRATEGY_TIME = 1  # minutes
STRATEGY_AMOUNT = 2  # fen
STRATEGY_ENERGY = 3  # "kW" as the spec words it (meant: kWh)
STRATEGY_FULL = 4  # parameter 0

# Appendix 4, code → description, verbatim (the half-width commas are the document's).
ERROR_TEXTS: dict[str, str] = {
    "200": "成功",
    "1300": "Token 超时",
    "1400": "请求的资源不存在",
    "1401": "参数错误",
    "1405": "前置条件不符",
    "1408": "充电桩未插枪",
    "1409": "数据唯一性出错",
    "1419": "请求开始充电超时,充电桩未响应,请重试",
    "1423": "充电桩离线",
    "1424": "充电桩类型错误",
    "1427": "充电桩状态不为空闲",
    "1430": "充电桩锁定超时",
    "1433": "充电桩已被他人使用",
    "1434": "充电桩繁忙",
    "1435": "充电桩没有连接上线",
    "1440": "充电桩处于不可预约状态",
    "1441": "存在未关闭的订单",
    "1446": "充电口号状态不为空闲",
    "1447": "充电口有未结算的订单",
    "1505": "服务器控制充电桩失败",
    "1511": "下发更新订单时间/金额类型不一致",
    "1512": "下发更新订单时间/金额频繁",
    "2001": "对接平台不存在",
    "2002": "对接业务处理失败",
    "2003": "充电桩不存在",
    "2004": "对接业务设置费率, 电费类型错误",
    "2005": "对接业务设置费率失败",
    "2006": "对接业务添加充电桩——充电桩已存在",
    "2007": "充电桩类型错误",
    "2008": "外部订单号重复",
    "2009": "订单正在充电中",
    "2010": "充电口不存在",
    "2011": "充电口不为空闲",
    "2012": "充电策略错误",
    "2013": "订单不存在",
}

# Error codes grouped by what the caller or an operator must do differently; a code in no group is a
# plain failure. The client turns each group into its own exception class.
NOT_FOUND_CODES = frozenset({"1400", "2003", "2010", "2013"})
INVALID_REQUEST_CODES = frozenset({"1401", "1405", "1424", "2004", "2007", "2012", "1511"})
CHARGER_UNAVAILABLE_CODES = frozenset(
    {"1408", "1419", "1423", "1427", "1430", "1433", "1434", "1435", "1440", "1446", "2011"}
)
CONFLICT_CODES = frozenset({"1409", "1441", "1447", "2006", "2008", "2009"})
