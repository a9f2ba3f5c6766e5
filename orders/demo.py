"""A believable operator for demos and manual testing: two cities, both vendors, a week of orders.

Everything is keyed on stable codes and deterministic random numbers, so running the seed again
changes nothing that exists and only fills what is missing.
"""

import datetime as dt
import random
from dataclasses import dataclass, replace
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from backoffice.days import BEIJING
from chargers.models import (
    Charger,
    ChargerEvent,
    Connector,
    ConnectorStatus,
    CurrentType,
    EventSource,
    EventState,
    Vendor,
)
from chargers.services import charger_offline_revenue_record
from chargers.vendor import ChargeStrategy
from orders.exports import export_request
from orders.models import (
    CardMovement,
    CardMovementKind,
    ChargingCard,
    CloseReason,
    ExportFormat,
    ExportKind,
    LineState,
    Order,
    OrderSample,
    OrderSettlement,
    OrderStatus,
    Partner,
    SettlementSource,
    StatementCategory,
    StatementLine,
)
from orders.reconciliation.services import (
    business_day_blockers,
    business_day_close,
    statement_line_send_back,
    statements_build,
)
from orders.selectors import business_day_closed, order_price_breakdown
from orders.services import Settlement, card_balance_change, order_settle
from orders.services.cards import card_session_settle
from stations.models import Station, StationAccess, StationStatus
from tariffs.models import TariffDetail, TariffTemplate, TimeInterval, VehicleKind
from tariffs.selectors import tariff_version_in_force
from tariffs.services import tariff_version_publish

DAYS = 7

# Shenzhen-like time of use: (end hh:mm as minutes, interval, electricity, service) in 0.0001 yuan/kWh;
# each period starts where the one before it ends.
EV_PERIODS = [
    (8 * 60, TimeInterval.VALLEY, 3100, 6000),
    (10 * 60, TimeInterval.PLAIN, 6700, 6000),
    (11 * 60, TimeInterval.PEAK, 10500, 6000),
    (12 * 60, TimeInterval.CUSP, 12600, 6000),
    (14 * 60, TimeInterval.PLAIN, 6700, 6000),
    (15 * 60, TimeInterval.PEAK, 10500, 6000),
    (17 * 60, TimeInterval.CUSP, 12600, 6000),
    (19 * 60, TimeInterval.PEAK, 10500, 6000),
    (24 * 60, TimeInterval.PLAIN, 6700, 6000),
]
# The second EV version raises the service price of peak and cusp periods (0.0001 yuan/kWh).
EV_V2_SERVICE = {TimeInterval.PEAK: 8000, TimeInterval.CUSP: 8000}
# E-bike power tiers: (upper bound W, price per hour in 0.0001 yuan).
EBIKE_TIERS = [(150, 4000), (300, 5000), (450, 6000), (600, 7000)]


@dataclass(frozen=True)
class ChargerSpec:
    vendor: str
    serial: str
    name: str
    kind: str
    current_type: str
    rated_power_w: int
    device_type_code: str
    device_type_name: str
    connectors: int


STATIONS = [
    # code, name, kind, city, address, lon, lat, chargers
    (
        "SZ-NS-001", "深圳南山科技园充电站", VehicleKind.EV, "440300", "深圳市南山区科技园科发路 8 号",
        "113.953146", "22.543280",
        [
            ChargerSpec(Vendor.TOMDA, "1012300001", "1 号交流桩", VehicleKind.EV, CurrentType.AC, 7000,
                        "TOMDA_EV7K_T4", "7KW 电动汽车", 1),
            ChargerSpec(Vendor.TOMDA, "1012300002", "2 号交流桩", VehicleKind.EV, CurrentType.AC, 7000,
                        "TOMDA_EV7K_T4", "7KW 电动汽车", 1),
            ChargerSpec(Vendor.TOMDA, "1012300003", "3 号双枪桩", VehicleKind.EV, CurrentType.AC, 14000,
                        "TOMDA_EV14K_T6", "电动汽车双枪交流", 2),
        ],
    ),
    (
        "SZ-FT-002", "深圳福田会展中心充电站", VehicleKind.EV, "440300", "深圳市福田区福华三路 111 号",
        "114.059560", "22.532910",
        [
            ChargerSpec(Vendor.WANZHUANG, "19285526", "A01 汽车慢充桩", VehicleKind.EV, CurrentType.AC, 7000,
                        "13", "汽车慢充桩", 1),
            ChargerSpec(Vendor.WANZHUANG, "19285527", "A02 汽车慢充桩", VehicleKind.EV, CurrentType.AC, 7000,
                        "13", "汽车慢充桩", 1),
            ChargerSpec(Vendor.TOMDA, "1012300004", "A03 广告机桩", VehicleKind.EV, CurrentType.AC, 7000,
                        "TOMDA_EV7K_T3", "7KW 电动汽车广告机", 1),
        ],
    ),
    (
        "SZ-BA-003", "深圳宝安西乡电单车充电点", VehicleKind.EBIKE, "440300", "深圳市宝安区西乡街道宝源路 20 号",
        "113.866840", "22.578150",
        [
            ChargerSpec(Vendor.TOMDA, "1012310001", "1 号电单车充电桩", VehicleKind.EBIKE, CurrentType.AC, 6000,
                        "TOMDA_EB10_T1", "10 路电动单车", 10),
        ],
    ),
    (
        "GZ-TH-001", "广州天河体育中心充电站", VehicleKind.EV, "440100", "广州市天河区天河路 299 号",
        "113.324520", "23.139040",
        [
            ChargerSpec(Vendor.TOMDA, "1012300101", "B01 双枪桩", VehicleKind.EV, CurrentType.AC, 14000,
                        "TOMDA_EV14K_T6", "电动汽车双枪交流", 2),
            ChargerSpec(Vendor.WANZHUANG, "19286001", "B02 汽车交流插座桩", VehicleKind.EV, CurrentType.AC, 7000,
                        "12", "汽车交流插座桩", 1),
        ],
    ),
    (
        "GZ-HZ-002", "广州海珠江南西电单车充电点", VehicleKind.EBIKE, "440100", "广州市海珠区江南西路 48 号",
        "113.270810", "23.095390",
        [
            ChargerSpec(Vendor.WANZHUANG, "19287001", "1 号电量慢充款", VehicleKind.EBIKE, CurrentType.AC, 6000,
                        "2", "电量慢充款", 10),
        ],
    ),
]

# The EV station whose car park is on 4pyun's parking platform, with its station UUID there: its sessions' charging
# records go to 4pyun (the simulator of `make demo`, which Procfile.demo tells this same UUID).
FOURPYUN_STATION_UUIDS = {"SZ-NS-001": "3f6c2a9e-8b14-4d7a-a5e2-6c0d9b1f4a01"}

PARTNERS = [("MA5DEMO01", "畅行出行平台"), ("MA5DEMO02", "蓝鲸车队")]
# Online charging cards swiped on Wanzhuang's e-bike chargers: number, holder, mobile, first top-up (fen), enabled.
CARDS = [
    ("88000001", "王小明", "13800001111", 10_000, True),
    ("88000002", "李娜", "13800002222", 0, True),
    ("88000003", "张伟（已挂失）", "13800003333", 2_000, False),
]
# The Wanzhuang e-bike charger whose coin box and offline cards report running totals (offline_profit).
OFFLINE_REVENUE_SERIAL = "19287001"
PLATES = ["粤B", "粤A", "粤S", "湘A", "赣B"]


def _templates(today):
    """The two templates and their versions: the EV tariff changed half-way through the demo week."""
    week_start = dt.datetime.combine(today - dt.timedelta(days=DAYS), dt.time(), tzinfo=BEIJING)
    ev, _ = TariffTemplate.objects.get_or_create(
        external_id="DEMO-EV-TOU",
        defaults={"name": "深圳工商业分时电价", "kind": VehicleKind.EV, "min_balance_fen": 1000},
    )
    if not ev.details.exists():
        starts = [0] + [end for end, *_rest in EV_PERIODS[:-1]]
        TariffDetail.objects.bulk_create(
            TariffDetail(template=ev, position=i, start_minute=start, end_minute=end, interval=interval,
                         electricity_price_e4=elec, service_price_e4=service)
            for i, (start, (end, interval, elec, service)) in enumerate(zip(starts, EV_PERIODS, strict=True), start=1)
        )
    if not ev.versions.exists():
        tariff_version_publish(template=ev, now=week_start, note="首版")
        raised = week_start + dt.timedelta(days=DAYS // 2)
        for interval, price in EV_V2_SERVICE.items():
            ev.details.filter(interval=interval).update(service_price_e4=price)
        tariff_version_publish(template=ev, now=raised, note="峰、尖时段服务费上调至 0.8000 元/度")
    ebike = _ebike_template("DEMO-EBIKE-POWER", "电单车功率分档", free_charge_seconds=180, published=week_start)
    # Wanzhuang's charge modes have no free charging time: its e-bike station has the tiers without it.
    ebike_wz = _ebike_template("DEMO-EBIKE-POWER-WZ", "电单车功率分档（万桩，无免费时长）", free_charge_seconds=0,
                               published=week_start)
    return {VehicleKind.EV: ev, VehicleKind.EBIKE: ebike, "GZ-HZ-002": ebike_wz}


def _ebike_template(external_id, name, *, free_charge_seconds, published):
    """An e-bike template of the demo's power tiers, published once."""
    template, _ = TariffTemplate.objects.get_or_create(
        external_id=external_id,
        defaults={"name": name, "kind": VehicleKind.EBIKE, "free_charge_seconds": free_charge_seconds},
    )
    if not template.details.exists():
        TariffDetail.objects.bulk_create(
            TariffDetail(template=template, position=i, power_upper_w=upper, unit_seconds=3600,
                         electricity_price_e4=price, service_price_e4=0)
            for i, (upper, price) in enumerate(EBIKE_TIERS, start=1)
        )
    if not template.versions.exists():
        tariff_version_publish(template=template, now=published, note="首版")
    return template


def _stations(templates):
    connectors = []
    for code, name, kind, city, address, lon, lat, chargers in STATIONS:
        station, _ = Station.objects.get_or_create(
            code=code,
            defaults={
                "name": name, "kind": kind, "status": StationStatus.WORKING, "access": StationAccess.PUBLIC,
                "city_code": city, "address": address, "longitude": Decimal(lon), "latitude": Decimal(lat),
                "service_hours": "00:00-24:00", "service_phone": "400-800-1234",
                "parking_fee": "充电车辆停车 2 小时内免费" if kind == VehicleKind.EV else "",
                "guide": "从正门进入后右转，充电区在地面停车场东侧。",
                "tariff_template": templates.get(code, templates[kind]),
            },
        )
        fourpyun_uuid = FOURPYUN_STATION_UUIDS.get(code, "")
        if fourpyun_uuid and not station.fourpyun_station_uuid:
            # Also a station seeded before it was mapped; one an operator mapped otherwise keeps theirs.
            station.fourpyun_station_uuid = fourpyun_uuid
            station.save(update_fields=["fourpyun_station_uuid"])
        for spec in chargers:
            charger, _ = Charger.objects.get_or_create(
                vendor=spec.vendor, serial=spec.serial,
                defaults={
                    "station": station, "name": spec.name, "kind": spec.kind, "current_type": spec.current_type,
                    "rated_power_w": spec.rated_power_w, "device_type_code": spec.device_type_code,
                    "device_type_name": spec.device_type_name, "communication_type": "GPRS",
                    "firmware_version": "V2.3.1", "hardware_version": "H1.0", "online": True,
                    "status": ConnectorStatus.FREE, "vendor_status": "FREE" if spec.vendor == Vendor.TOMDA else "0",
                    "last_seen_at": timezone.now(),
                },
            )
            for number in range(1, spec.connectors + 1):
                connector, _ = Connector.objects.get_or_create(
                    charger=charger, number=number,
                    defaults={"status": ConnectorStatus.FREE, "name": f"{number} 号枪"
                              if spec.kind == VehicleKind.EV else f"{number} 号插座",
                              "vendor_status": charger.vendor_status},
                )
                connectors.append(connector)
    return connectors


def _session(rng, connector, day_start, slot, partners, template):
    """One finished session on `connector`: its order and its samples (not yet saved)."""
    charger = connector.charger
    ev = charger.kind == VehicleKind.EV
    start = day_start + dt.timedelta(minutes=rng.randrange(slot * 8 * 60, (slot + 1) * 8 * 60 - 200))
    if ev:
        minutes = rng.randrange(40, 180)
        power = rng.randrange(5200, 7001)
        step = 5
    else:
        minutes = rng.randrange(90, 300)
        power = rng.randrange(80, 560)
        step = 10
    end = start + dt.timedelta(minutes=minutes)
    order_no = f"{start.astimezone(BEIJING):%Y%m%d%H%M%S}{rng.randrange(1_000_000):06d}"
    samples = []
    energy = 0
    soc = rng.randrange(12, 45)
    previous = start
    for offset in range(step, minutes + 1, step):
        moment = start + dt.timedelta(minutes=offset)
        wh = power * (moment - previous).seconds // 3600
        energy += wh
        previous = moment
        if ev:
            soc = min(100, soc + rng.randrange(1, 4))
        voltage = 2200 + rng.randrange(-40, 40) if charger.current_type == CurrentType.AC else 3800
        samples.append(OrderSample(
            device_time=moment, voltage_dv=voltage, current_da=power * 100 // voltage,
            power_w=power, energy_wh=energy, soc=soc if ev else None,
        ))
    if ev:
        close = CloseReason.FULL if soc >= 100 else rng.choice([CloseReason.USER_STOP, CloseReason.REMOTE_STOP])
    else:
        close = rng.choice([CloseReason.TIME_REACHED, CloseReason.FULL, CloseReason.UNPLUGGED])
    partner = rng.choice(partners)
    order = Order(
        order_no=order_no, partner=partner, partner_order_no=f"{partner.org_code}-{order_no}",
        driver_id=f"U{rng.randrange(10**7):07d}", station=charger.station, charger=charger, connector=connector,
        strategy=ChargeStrategy.FULL if ev else ChargeStrategy.TIME,
        strategy_param=0 if ev else (minutes // 60 + 1) * 60,
        authorized_amount_fen=10_000 if ev else 500, status=OrderStatus.SETTLED, vendor_status="CLOSED",
        settled_from=SettlementSource.VENDOR,
        started_at=start, ended_at=end, charge_seconds=minutes * 60, park_seconds=minutes * 60 + 300,
        energy_wh=energy, soc=soc if ev else None,
        plate=f"{rng.choice(PLATES)}{rng.randrange(10000, 99999)}D" if ev else "",
        mobile=f"138{rng.randrange(10**8):08d}", close_reason=close,
        tariff_version=tariff_version_in_force(template=template, at=start),
    )
    price = order_price_breakdown(order=order, samples=samples)
    order.electricity_fee_fen, order.service_fee_fen = price.electricity_fen, price.service_fen
    order.total_fee_fen = price.total_fen
    order.vendor_total_fen = price.total_fen  # the vendor billed what our tariff gives
    order.price_lines = price.to_content()
    order.price_periods = price.period_totals()
    return order, samples


def _orders(connectors, partners, today):
    created = 0
    for connector in connectors:
        template = connector.charger.station.tariff_template
        for day in range(DAYS, 0, -1):
            day_start = dt.datetime.combine(today - dt.timedelta(days=day), dt.time(), tzinfo=BEIJING)
            rng = random.Random(f"{connector.charger.serial}/{connector.number}/{day_start:%Y%m%d}")
            for slot in rng.sample(range(3), k=rng.randrange(1, 4)):
                order, samples = _session(rng, connector, day_start, slot, partners, template)
                if Order.objects.filter(order_no=order.order_no).exists():
                    continue
                order.save()
                for sample in samples:
                    sample.order = order
                OrderSample.objects.bulk_create(samples)
                # created_at follows the session, as if the order had been placed at its start; the samples
                # were received now.
                Order.objects.filter(pk=order.pk).update(
                    created_at=order.started_at,
                    samples_until=max((sample.received_at for sample in samples), default=None))
                OrderSettlement.objects.create(
                    order=order, source=SettlementSource.VENDOR, recorded_at=order.ended_at,
                    started_at=order.started_at, ended_at=order.ended_at, energy_wh=order.energy_wh,
                    charge_seconds=order.charge_seconds, vendor_total_fen=order.vendor_total_fen,
                    close_reason=order.close_reason, vendor_status="CLOSED",
                )
                created += 1
    return created


def _events(connectors):
    faulty = next(c for c in connectors if c.charger.serial == "1012310001" and c.number == 7)
    if ChargerEvent.objects.filter(charger=faulty.charger).exists():
        return
    now = timezone.now()
    ChargerEvent.objects.create(
        charger=faulty.charger, connector=faulty, source=EventSource.PLUG, code="TOMDA_EBIKE_FAULT_LEAK_CURRENT",
        name="漏电流过高", state=EventState.HAPPENING, device_time=now - dt.timedelta(hours=3),
    )
    ChargerEvent.objects.create(
        charger=faulty.charger, source=EventSource.CHARGER, code="TOMDA_EBIKE_FAULT_TEMPERATURE_UPLIMIT",
        name="温度过高", state=EventState.RECOVERED, device_time=now - dt.timedelta(days=2, hours=5),
    )
    Connector.objects.filter(pk=faulty.pk).update(
        status=ConnectorStatus.FAULT, vendor_status="FAULT", status_changed_at=now - dt.timedelta(hours=3)
    )
    Charger.objects.filter(serial="19287001").update(
        online=False, status=ConnectorStatus.OFFLINE, last_seen_at=now - dt.timedelta(hours=6)
    )


def _conflict(connectors):
    """The newest car session's vendor settles it a second time with other figures: a conflict for finance."""
    order = (Order.objects.filter(charger__kind=VehicleKind.EV, connector__in=connectors)
             .order_by("-started_at").first())
    if order is None or order.conflicts.exists():
        return
    first = Settlement(
        started_at=order.started_at, ended_at=order.ended_at, energy_wh=order.energy_wh,
        charge_seconds=order.charge_seconds, vendor_total_fen=order.total_fee_fen, close_reason=order.close_reason,
        vendor_close_code="", close_reason_text="", vendor_status="CLOSED",
    )
    order_settle(order=order, settlement=replace(first, energy_wh=first.energy_wh + 1200,
                                                 vendor_total_fen=first.vendor_total_fen + 126))


def _statements(today):
    """Every counterparty's statement of each past demo day, as the nightly close would have built them (the
    counterparties are not asked: the demo's sessions are all settled). The oldest day is closed by a demo
    finance clerk (who cannot log in: no password) and handed to accounting as a file; the conflict's difference
    is sent back to operations."""
    clerk, created = get_user_model().objects.get_or_create(
        username="demo-finance", defaults={"first_name": "演示财务", "is_staff": True}
    )
    if created:
        clerk.set_unusable_password()
        clerk.save()
        clerk.groups.add(Group.objects.get(name="Finance"))
        clerk = get_user_model().objects.get(pk=clerk.pk)
    oldest = today - dt.timedelta(days=DAYS)
    for day in range(DAYS, 0, -1):
        if not business_day_closed(day=today - dt.timedelta(days=day)):
            statements_build(day=today - dt.timedelta(days=day), repair=False)
    if not business_day_closed(day=oldest) and not business_day_blockers(day=oldest):
        business_day_close(day=oldest, user=clerk)
        export_request(kind=ExportKind.ORDERS, format=ExportFormat.XLSX, day_from=oldest, day_to=oldest, user=clerk)
    conflict = StatementLine.objects.filter(category=StatementCategory.SETTLEMENT_DIFFERS,
                                            state=LineState.OPEN, actions__isnull=True).first()
    if conflict is not None:
        statement_line_send_back(line=conflict, user=clerk,
                                 comment="电桩两次结算电量不一致，请运营核实电桩记录后反馈。")


def _cards():
    """Three cards topped up at the counter; the first paid yesterday's last session on the Wanzhuang e-bike
    charger."""
    for number, holder, mobile, top_up, enabled in CARDS:
        card, created = ChargingCard.objects.get_or_create(
            number=number, defaults={"holder": holder, "mobile": mobile, "enabled": enabled})
        if created and top_up:
            card_balance_change(card=card, amount_fen=top_up, kind=CardMovementKind.TOP_UP, note="开卡充值",
                                by_name="demo-operator")
    card = ChargingCard.objects.get(number=CARDS[0][0])
    if CardMovement.objects.filter(card=card, kind=CardMovementKind.SESSION).exists():
        return
    paid = (Order.objects.filter(charger__serial=OFFLINE_REVENUE_SERIAL, status=OrderStatus.SETTLED,
                                 card__isnull=True).order_by("-started_at").first())
    if paid is not None:
        Order.objects.filter(pk=paid.pk).update(card=card, driver_id=f"card:{card.number}")
        paid.refresh_from_db()
        card_session_settle(order=paid, now=paid.ended_at)


def _offline_revenue(today):
    """A reading of the coin box and offline cards every evening of the week; the counters were reset (a repair)
    half-way through, and one reading arrived a day late."""
    charger = Charger.objects.get(vendor=Vendor.WANZHUANG, serial=OFFLINE_REVENUE_SERIAL)
    if charger.offline_revenue.exists():
        return
    coin, card = 35_000, 12_000
    for day in range(DAYS, 0, -1):
        moment = dt.datetime.combine(today - dt.timedelta(days=day), dt.time(22, 30), tzinfo=BEIJING)
        if day == DAYS // 2:
            coin, card = 0, 0  # the counters start again from zero
        coin, card = coin + 400 + 100 * day, card + 200 + 50 * day
        charger_offline_revenue_record(charger=charger, device_time=moment, coin_total_fen=coin,
                                       card_total_fen=card, received_at=moment)
    late = dt.datetime.combine(today - dt.timedelta(days=3), dt.time(12), tzinfo=BEIJING)
    charger_offline_revenue_record(charger=charger, device_time=late, coin_total_fen=coin - 900,
                                   card_total_fen=card - 300, received_at=late + dt.timedelta(days=1))


@transaction.atomic
def demo_seed(*, today: dt.date | None = None) -> dict:
    """Create the demo operator; returns how many orders this run added."""
    today = today or timezone.localdate(timezone=BEIJING)
    templates = _templates(today)
    connectors = _stations(templates)
    partners = [
        Partner.objects.get_or_create(org_code=code, defaults={"name": name})[0] for code, name in PARTNERS
    ]
    orders = _orders(connectors, partners, today)
    _events(connectors)
    _conflict(connectors)
    _cards()
    _offline_revenue(today)
    _statements(today)
    return {"stations": len(STATIONS), "connectors": len(connectors), "orders_created": orders}
