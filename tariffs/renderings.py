"""One tariff version in each outside party's documented structure: pure functions, no database.

- `tomda_fee_model`: Tomda's fee template `elecFeeModelInfo` (Tomda cloud integration §4.3.2);
- `wanzhuang_save_mode`: the tariff fields of Wanzhuang's `POST /open/device/saveMode` form;
- `partner_fee_descriptions`: the `electricFee` / `serviceFee` texts of the partner interface's StubInfo (§2.2).

A renderer takes a tariff that passed `tariffs.validation` (a known kind, periods that tile the day, tiers
with distinct positive bounds and units) and checks only what a party's structure adds. It never rounds a
price: a price the party's unit cannot carry exactly raises `TariffRenderError`, whose message names the
row (by its time span or power bound, as the template page and the rules name it) and says what to change.
Rows are rendered in day order (periods) or power order (tiers).

Wanzhuang's form also carries settings of the charger, not of the price: not-disturb, outage, floating
charge, `detect_time`, `check_time`, `inc_time`, `count_mode`, `display_delay` (and `device_num`, signing).
They belong to the charger's configuration; the Wanzhuang mapper adds them to what is rendered here.

Assumptions about Wanzhuang, to be confirmed against its dev environment:

- its array-valued fields (`charge_value`, `payment_value`, `time_value`, `power_value`, `price_value`)
  are typed "string" without a format; we send compact JSON arrays such as `"[200,400]"` (`_form_array`);
- each mode carries the fields its "返回值解析" list names (camelCase there, snake_case in the form) plus
  `charge_mode`, `start_fee`, `whether_refund` and `is_free_charge`; `max_pay_fee` only where listed
  (time mode and energy mode);
- `charge_value` (time mode) and `price_value` (power modes) are fen per hour of charging;
- `max_pay_fee` 0 is sent as is and read by Wanzhuang as "no cap", as in our tariffs;
- the prepay levels of energy mode 2 (`payment_value`) are not modelled by our tariffs and are not sent;
- mode 11 (car "standard energy mode") is saved through a separate car-pile page we have no copy of, so
  it is refused.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from django.utils.translation import gettext as _

from tariffs.pricing import Interval, Period, PowerTier, Tariff
from tariffs.units import format_fen, format_minute_of_day, format_price_e4
from tariffs.validation import period_label, tier_label


class TariffRenderError(ValueError):
    """A tariff a party's structure cannot express exactly. The message is for an operator: it is shown
    in the admin when a push is refused."""


# --- rows, named as the operator sees them -----------------------------------------------------------


def _periods_in_day_order(tariff: Tariff) -> list[tuple[str, Period]]:
    return [(period_label(period), period) for period in sorted(tariff.periods, key=lambda p: p.start_minute)]


def _tiers_in_power_order(tariff: Tariff) -> list[tuple[str, PowerTier]]:
    return [(tier_label(tier), tier) for tier in sorted(tariff.tiers, key=lambda t: t.power_upper_w)]


def _require_rows(tariff: Tariff) -> None:
    # Every party needs at least one row (Tomda: modelDetailCount must be greater than 0).
    if not tariff.periods and not tariff.tiers:
        raise TariffRenderError(_("The tariff has neither periods nor power tiers: add at least one row."))


# --- exact unit conversions: None when the target unit cannot carry the price ------------------------


def _exact_quotient(numerator: int, denominator: int) -> int | None:
    quotient, remainder = divmod(numerator, denominator)
    return None if remainder else quotient


def _fen(price_e4: int) -> int | None:
    """A price in 0.0001 yuan as whole fen (per the same unit)."""
    return _exact_quotient(price_e4, 100)


def _fen_per_hour(price_e4: int, unit_seconds: int) -> int | None:
    """A price in 0.0001 yuan per `unit_seconds` of charging as whole fen per hour."""
    return _exact_quotient(price_e4 * 3600, unit_seconds * 100)


# --- Tomda ---------------------------------------------------------------------------------------------

_TOMDA_MODEL_TYPES = {"ev": 1, "ebike": 2}


def _tomda_period_detail(label: str, period: Period, position: int) -> dict:
    electricity_fen = _fen(period.electricity_price_e4)
    if electricity_fen is None:
        raise TariffRenderError(
            _(
                "Tomda takes prices in whole fen per kWh: %(row)s has an electricity price of %(price)s yuan. "
                "Change it to a multiple of 0.01 yuan."
            )
            % {"row": label, "price": format_price_e4(period.electricity_price_e4)}
        )
    service_fen = _fen(period.service_price_e4)
    if service_fen is None:
        raise TariffRenderError(
            _(
                "Tomda takes prices in whole fen per kWh: %(row)s has a service price of %(price)s yuan. "
                "Change it to a multiple of 0.01 yuan."
            )
            % {"row": label, "price": format_price_e4(period.service_price_e4)}
        )
    # The spec gives a row only its end ("endValueOne" in hours, "endValueTwo" in minutes), so a row runs
    # from the previous row's end (00:00 for the first) to endValueOne:endValueTwo; 24:00 is sent as 24, 0.
    end_hour, end_minute = divmod(period.end_minute, 60)
    return {
        "endValueOne": end_hour,
        "endValueTwo": end_minute,
        "elecFee": electricity_fen,
        "serviceFee": service_fen,
        "elecInterval": period.interval.upper(),
        "position": position,
    }


def _tomda_tier_detail(label: str, tier: PowerTier, position: int) -> dict:
    # Tomda's e-bike rows are power bounds with fees in fen; the spec's example (40–70 fen for
    # 150–600 W) reads as fen per hour of charging, so a tier's price per charge unit is scaled to an hour.
    electricity_fen = _fen_per_hour(tier.electricity_price_e4, tier.unit_seconds)
    if electricity_fen is None:
        raise TariffRenderError(
            _(
                "Tomda takes e-bike prices in whole fen per hour: %(row)s has an electricity price of "
                "%(price)s yuan per %(seconds)d s of charging, which is not a whole number of fen per hour. "
                "Change the price or the charge unit."
            )
            % {"row": label, "price": format_price_e4(tier.electricity_price_e4), "seconds": tier.unit_seconds}
        )
    service_fen = _fen_per_hour(tier.service_price_e4, tier.unit_seconds)
    if service_fen is None:
        raise TariffRenderError(
            _(
                "Tomda takes e-bike prices in whole fen per hour: %(row)s has a service price of "
                "%(price)s yuan per %(seconds)d s of charging, which is not a whole number of fen per hour. "
                "Change the price or the charge unit."
            )
            % {"row": label, "price": format_price_e4(tier.service_price_e4), "seconds": tier.unit_seconds}
        )
    return {
        "endValueOne": tier.power_upper_w,
        "elecFee": electricity_fen,
        "serviceFee": service_fen,
        "position": position,
    }


def tomda_fee_model(tariff: Tariff, *, external_id: str, name: str) -> dict:
    """Tomda's `elecFeeModelInfo` (§4.3.2) for `tariff`, sent as template `external_id` named `name`."""
    if tariff.kind not in _TOMDA_MODEL_TYPES:
        raise TariffRenderError(
            _("Tomda has fee templates for electric vehicles and e-bikes only: choose the tariff's vehicle kind.")
        )
    _require_rows(tariff)
    if tariff.kind == "ev":
        if not tariff.by_energy:
            raise TariffRenderError(
                _(
                    "Tomda prices electric vehicles by time-of-use periods: this tariff has power tiers. "
                    "Replace them with periods."
                )
            )
        details = [
            _tomda_period_detail(label, period, position)
            for position, (label, period) in enumerate(_periods_in_day_order(tariff), start=1)
        ]
    else:
        if tariff.by_energy:
            raise TariffRenderError(
                _(
                    "Tomda prices e-bikes by power tiers: this e-bike tariff is priced by energy periods. "
                    "Replace them with power tiers to push it to Tomda."
                )
            )
        details = [
            _tomda_tier_detail(label, tier, position)
            for position, (label, tier) in enumerate(_tiers_in_power_order(tariff), start=1)
        ]

    model = {
        "clientElecFeeModelId": external_id,
        "modelName": name,
        "modelType": _TOMDA_MODEL_TYPES[tariff.kind],
        "freeChargeTime": tariff.free_charge_seconds,
    }
    if tariff.kind == "ev":
        # "汽车充电桩专有" (car chargers only). The spec states no unit: we assume fen, like every other
        # Tomda amount.
        model["limitCheckBalance"] = tariff.min_balance_fen
    model["modelDetailCount"] = len(details)
    model["elecFeeModelDetail"] = details
    return model


# --- Wanzhuang -----------------------------------------------------------------------------------------

_WZ_TIME, _WZ_ENERGY, _WZ_POWER = 0, 1, 2
_WZ_TIME_2, _WZ_ENERGY_2, _WZ_POWER_2 = 7, 8, 9
_WZ_CAR_ENERGY = 11
_WZ_MODES = (_WZ_TIME, _WZ_ENERGY, _WZ_POWER, _WZ_TIME_2, _WZ_ENERGY_2, _WZ_POWER_2)
# Modes whose "返回值解析" list names maxPayFee.
_WZ_MODES_WITH_MAX_PAY = (_WZ_TIME, _WZ_ENERGY)

# Time mode 2 bounds per level, from the spec: 0.01–10 yuan, 60 s–12 h.
_WZ_LEVEL_FEN = (1, 1000)
_WZ_LEVEL_SECONDS = (60, 43_200)
# "充电金额不能大于30元": an energy-mode session bills at most 30 yuan.
_WZ_ENERGY_MAX_PAY_FEN = 3000


def _form_array(values: Iterable[int]) -> str:
    """An array-valued form field. The spec types these "string" without a format: compact JSON is our
    assumption until Wanzhuang's dev environment confirms it."""
    return json.dumps(list(values), separators=(",", ":"))


def _wz_hourly_fen(label: str, tier: PowerTier) -> int:
    # Wanzhuang has one price, so the rendered price is electricity + service.
    price_e4 = tier.electricity_price_e4 + tier.service_price_e4
    fen = _fen_per_hour(price_e4, tier.unit_seconds)
    if fen is None:
        raise TariffRenderError(
            _(
                "Wanzhuang takes prices in whole fen per hour: %(row)s costs %(price)s yuan (electricity + "
                "service) per %(seconds)d s of charging, which is not a whole number of fen per hour. "
                "Change the price or the charge unit."
            )
            % {"row": label, "price": format_price_e4(price_e4), "seconds": tier.unit_seconds}
        )
    return fen


def _wz_tiers(tariff: Tariff, charge_mode: int) -> list[tuple[str, PowerTier]]:
    if not tariff.tiers:
        raise TariffRenderError(
            _(
                "Wanzhuang charge mode %(mode)d prices by charging time: this tariff is priced by energy "
                "periods. Use energy mode 1 or 8, or give the tariff power tiers."
            )
            % {"mode": charge_mode}
        )
    return _tiers_in_power_order(tariff)


def _wz_time_fields(tariff: Tariff, charge_mode: int) -> dict:
    tiers = _wz_tiers(tariff, charge_mode)
    if len(tiers) > 1:
        raise TariffRenderError(
            _(
                "Wanzhuang charge mode %(mode)d has one price for every power: this tariff has %(count)d power "
                "tiers. Use power mode 2 or 9, or keep a single tier."
            )
            % {"mode": charge_mode, "count": len(tiers)}
        )
    label, tier = tiers[0]
    if charge_mode == _WZ_TIME:
        return {
            "charge_type": "fixed",
            "charge_value": _form_array([_wz_hourly_fen(label, tier)]),
            "max_power": tier.power_upper_w,
        }

    # Time mode 2: one level, "pay payment_value fen for time_value seconds", which is our charge unit.
    price_e4 = tier.electricity_price_e4 + tier.service_price_e4
    unit_fen = _fen(price_e4)
    if unit_fen is None:
        raise TariffRenderError(
            _(
                "Wanzhuang time mode 2 takes the price of a charge unit in whole fen: %(row)s costs %(price)s yuan "
                "(electricity + service) per %(seconds)d s. Change it to a multiple of 0.01 yuan."
            )
            % {"row": label, "price": format_price_e4(price_e4), "seconds": tier.unit_seconds}
        )
    if not _WZ_LEVEL_FEN[0] <= unit_fen <= _WZ_LEVEL_FEN[1]:
        raise TariffRenderError(
            _(
                "Wanzhuang time mode 2 takes 0.01 to 10.00 yuan per charge unit: %(row)s costs %(price)s yuan "
                "(electricity + service) per %(seconds)d s. Change the price or the charge unit."
            )
            % {"row": label, "price": format_price_e4(price_e4), "seconds": tier.unit_seconds}
        )
    if not _WZ_LEVEL_SECONDS[0] <= tier.unit_seconds <= _WZ_LEVEL_SECONDS[1]:
        raise TariffRenderError(
            _(
                "Wanzhuang time mode 2 takes charge units of 60 s to 12 hours: %(row)s has a charge unit of "
                "%(seconds)d s. Change it."
            )
            % {"row": label, "seconds": tier.unit_seconds}
        )
    return {
        # The time-mode-2 list names chargeType too; the form's only values are "fixed" and "custom", and
        # a single level is a fixed price.
        "charge_type": "fixed",
        "payment_value": _form_array([unit_fen]),
        "time_value": _form_array([tier.unit_seconds]),
        "max_power": tier.power_upper_w,
    }


def _wz_energy_fields(tariff: Tariff, charge_mode: int) -> dict:
    if not tariff.periods:
        raise TariffRenderError(
            _(
                "Wanzhuang charge mode %(mode)d prices by energy: this tariff is priced by power tiers. "
                "Use a time or power mode (0, 2, 7 or 9), or give the tariff periods."
            )
            % {"mode": charge_mode}
        )
    periods = _periods_in_day_order(tariff)
    first_label, first = periods[0]
    price_e4 = first.electricity_price_e4 + first.service_price_e4
    for label, period in periods[1:]:
        period_price_e4 = period.electricity_price_e4 + period.service_price_e4
        if period_price_e4 != price_e4:
            raise TariffRenderError(
                _(
                    "Wanzhuang energy modes have one price per kWh for the whole day: %(row)s costs %(price)s yuan "
                    "per kWh (electricity + service), %(first)s costs %(first_price)s yuan. "
                    "Give every period the same total price."
                )
                % {
                    "row": label,
                    "price": format_price_e4(period_price_e4),
                    "first": first_label,
                    "first_price": format_price_e4(price_e4),
                }
            )
    if tariff.max_pay_fen <= 0:
        raise TariffRenderError(
            _(
                "Wanzhuang energy modes bill at most 30.00 yuan a session: this tariff has no maximum payment. "
                "Set one between 0.01 and 30.00 yuan."
            )
        )
    if tariff.max_pay_fen > _WZ_ENERGY_MAX_PAY_FEN:
        raise TariffRenderError(
            _(
                "Wanzhuang energy modes bill at most 30.00 yuan a session: this tariff's maximum payment is "
                "%(max_pay)s yuan. Lower it to 30.00 yuan or less."
            )
            % {"max_pay": format_fen(tariff.max_pay_fen)}
        )
    fen = _fen(price_e4)
    if fen is None:
        # "如需使用4位数计费,不要传work_charge,传该字段即可": four-digit billing means the four-digit field alone.
        return {"work_charge_fourdigit": price_e4}
    return {"work_charge": fen}


def _wz_power_fields(tariff: Tariff, charge_mode: int) -> dict:
    tiers = _wz_tiers(tariff, charge_mode)
    return {
        "power_value": _form_array(tier.power_upper_w for _label, tier in tiers),
        "price_value": _form_array(_wz_hourly_fen(label, tier) for label, tier in tiers),
        "type": 0,  # basic setting: the advanced one is not modelled by our tariffs
        "max_power": tiers[-1][1].power_upper_w,
    }


def wanzhuang_save_mode(tariff: Tariff, *, charge_mode: int) -> dict:
    """The tariff fields of Wanzhuang's `saveMode` form for `charge_mode`, as ints and strings."""
    if charge_mode == _WZ_CAR_ENERGY:
        raise TariffRenderError(
            _(
                "Wanzhuang charge mode 11 (car standard energy mode) is saved through Wanzhuang's car-pile "
                "interface, which is not supported yet. Use charge mode 0, 1, 2, 7, 8 or 9."
            )
        )
    if charge_mode not in _WZ_MODES:
        raise TariffRenderError(
            _("Wanzhuang has no charge mode %(mode)s: use charge mode 0, 1, 2, 7, 8 or 9.") % {"mode": charge_mode}
        )
    _require_rows(tariff)

    form = {"charge_mode": charge_mode, "start_fee": tariff.start_fee_fen}
    if charge_mode in _WZ_MODES_WITH_MAX_PAY:
        form["max_pay_fee"] = tariff.max_pay_fen
    form["whether_refund"] = 1 if tariff.refundable else 0
    form["is_free_charge"] = 1 if tariff.free_charging else 0
    if charge_mode in (_WZ_TIME, _WZ_TIME_2):
        form.update(_wz_time_fields(tariff, charge_mode))
    elif charge_mode in (_WZ_ENERGY, _WZ_ENERGY_2):
        form.update(_wz_energy_fields(tariff, charge_mode))
    else:
        form.update(_wz_power_fields(tariff, charge_mode))
    return form


# --- partner interface ---------------------------------------------------------------------------------

# Protocol text: Chinese whatever the admin language, so plain literals rather than gettext.
_INTERVAL_ZH = {Interval.CUSP: "尖", Interval.PEAK: "峰", Interval.PLAIN: "平", Interval.VALLEY: "谷"}


def _zh_charge_unit(seconds: int) -> str:
    """A charge unit as the partner reads it: 3600 -> "小时", 14400 -> "4小时", 1800 -> "30分钟", 90 -> "90秒"."""
    if seconds % 3600 == 0:
        count, name = seconds // 3600, "小时"
    elif seconds % 60 == 0:
        count, name = seconds // 60, "分钟"
    else:
        count, name = seconds, "秒"
    return name if count == 1 else f"{count}{name}"


def _zh_periods(periods: list[Period], price_of) -> str:
    if len({price_of(period) for period in periods}) == 1:
        return f"{format_price_e4(price_of(periods[0]))}元/度"
    parts = []
    for period in periods:
        span = f"{format_minute_of_day(period.start_minute)}-{format_minute_of_day(period.end_minute)}"
        interval = _INTERVAL_ZH.get(period.interval)
        words = [span, interval] if interval else [span]
        parts.append(" ".join([*words, f"{format_price_e4(price_of(period))}元/度"]))
    return "；".join(parts)


def _zh_tiers(tiers: list[PowerTier], price_of) -> str:
    return "；".join(
        f"≤{tier.power_upper_w}W {format_price_e4(price_of(tier))}元/{_zh_charge_unit(tier.unit_seconds)}"
        for tier in tiers
    )


def partner_fee_descriptions(tariff: Tariff) -> dict:
    """`{"electricFee": ..., "serviceFee": ...}`: the partner interface's StubInfo fee texts, in Chinese."""
    _require_rows(tariff)
    if tariff.periods:
        periods = sorted(tariff.periods, key=lambda period: period.start_minute)
        electric = _zh_periods(periods, lambda period: period.electricity_price_e4)
        service = _zh_periods(periods, lambda period: period.service_price_e4)
    else:
        tiers = sorted(tariff.tiers, key=lambda tier: tier.power_upper_w)
        electric = _zh_tiers(tiers, lambda tier: tier.electricity_price_e4)
        service = _zh_tiers(tiers, lambda tier: tier.service_price_e4)
    free = tariff.free_charge_seconds
    if free > 0:
        # The free time spares both fees, so each text says so on its own.
        suffix = f"，前{free // 60}分钟免费" if free % 60 == 0 else f"，前{free}秒免费"
        electric += suffix
        service += suffix
    return {"electricFee": electric, "serviceFee": service}
