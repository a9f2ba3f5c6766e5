"""The tariff fields of Wanzhuang's `POST /open/device/saveMode` form (multipart), built from a tariff.

`charge_mode` picks how a session is billed: 0 time mode, 1 energy mode, 2 power mode, and their second
versions 7, 8 and 9 (11, the car "standard energy mode", is saved through a car-pile page). Every mode carries
`start_fee` (the least a session costs, fen), `whether_refund` (1: an unused prepayment is refunded) and
`is_free_charge` (1: every session is free); then, by mode:

- time mode 0: `charge_type` ("fixed" or "custom"), `charge_value` (the prices), `max_power`, `max_pay_fee`
  (the most a session costs, fen);
- time mode 7: `charge_type`, levels of "`payment_value` fen (0.01 to 10 yuan) for `time_value` s (60 s to
  12 hours)", `max_power`;
- energy modes 1 and 8: `work_charge`, fen per kWh, or `work_charge_fourdigit`, 0.0001 yuan per kWh (our unit
  price), sent alone when the price is not whole fen; a session costs at most 30 yuan; mode 1 adds `max_pay_fee`;
- power modes 2 and 9: `power_value` (power bounds) and `price_value` (a price per bound), `type` 0 (basic
  settings; the advanced ones are not modelled by our tariffs), `max_power`.

Wanzhuang has one price, so what is sent is a row's electricity + service price. The form also carries
settings of the charger, not of the price: not-disturb, outage, floating charge, `detect_time`, `check_time`,
`inc_time`, `count_mode`, `display_delay` (and `device_num`, signing). They belong to the charger's
configuration; the adapter that sends the form adds them to these fields.

Where the spec is silent or unclear, we assumed (to be confirmed against Wanzhuang's dev environment):

- its array-valued fields (`charge_value`, `payment_value`, `time_value`, `power_value`, `price_value`)
  are typed "string" without a format; we send compact JSON arrays such as `"[200,400]"` (`_form_array`);
- the form marks `charge_type`, `charge_value`, `max_power` and `max_pay_fee` required for every mode, but each
  mode's "返回值解析" list names its own; each mode carries the fields of its list (camelCase there, snake_case
  in the form) plus `charge_mode`, `start_fee`, `whether_refund` and `is_free_charge`; `max_pay_fee` only where
  listed (time mode and energy mode);
- the energy mode's list swaps the words of `maxPayFee` (起充金额) and `startFee` (最大付款金额); we follow the
  form's own descriptions: `start_fee` is the starting amount, `max_pay_fee` the maximum;
- `charge_value` (time mode) and `price_value` (power modes) are fen per hour of charging, and `max_power` and
  `power_value` are W;
- "充电金额不能大于30元" bounds every energy-mode session, so both energy modes need our maximum payment of
  0.01 to 30.00 yuan, even mode 8, which does not send it;
- `max_pay_fee` 0 is sent as is and read by Wanzhuang as "no cap", as in our tariffs;
- time mode 7 names `chargeType` too; a single level is a fixed price, so "fixed";
- the prepay levels of energy mode 2 (`payment_value`) are not modelled by our tariffs and are not sent;
- no mode has a free charging time, so a tariff with one is refused rather than billed differently by the
  device;
- mode 11 (car "standard energy mode") is saved through the car-pile page (汽车桩计费模式接口), whose fields
  the public pages do not show: we send the energy mode's (`work_charge` or `work_charge_fourdigit`,
  `start_fee`, `max_pay_fee`), without the 30-yuan bound, which is the e-bike energy modes'.

`charge_mode_for` picks a device's mode when the operator has not: a car pile takes mode 11; an e-bike device
an energy mode for a tariff of periods, a power mode for power tiers (time mode 0 for a single tier on a
device that takes no power mode), each the one its device type takes (saveMode's "只能匹配" lines).
`device_settings_fields` are the device settings of the form, from `DeviceSettings`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from django.utils.translation import gettext_noop

from tariffs.pricing import PowerTier, Tariff
from tariffs.renderings import (
    TariffRenderError,
    exact_fen,
    exact_fen_per_hour,
    periods_in_day_order,
    require_rows,
    tiers_in_power_order,
)
from tariffs.units import format_fen, format_price_e4

from . import constants as c

# charge_mode
_TIME, _ENERGY, _POWER = c.MODE_TIME, c.MODE_ENERGY, c.MODE_POWER
_TIME_2, _ENERGY_2, _POWER_2 = c.MODE_TIME_2, c.MODE_ENERGY_2, c.MODE_POWER_2
_CAR_ENERGY = c.MODE_CAR_ENERGY
_MODES = (_TIME, _ENERGY, _POWER, _TIME_2, _ENERGY_2, _POWER_2)
# Modes whose "返回值解析" list names maxPayFee.
_MODES_WITH_MAX_PAY = (_TIME, _ENERGY)

# Time mode 2 bounds per level, from the spec: 0.01–10 yuan, 60 s–12 h.
_LEVEL_FEN = (1, 1000)
_LEVEL_SECONDS = (60, 43_200)
# "充电金额不能大于30元": an energy-mode session bills at most 30 yuan.
_ENERGY_MAX_PAY_FEN = 3000


def _form_array(values: Iterable[int]) -> str:
    """An array-valued form field. The spec types these "string" without a format: compact JSON is our
    assumption until Wanzhuang's dev environment confirms it."""
    return json.dumps(list(values), separators=(",", ":"))


def _hourly_fen(label: str, tier: PowerTier) -> int:
    # Wanzhuang has one price, so the rendered price is electricity + service.
    price_e4 = tier.electricity_price_e4 + tier.service_price_e4
    fen = exact_fen_per_hour(price_e4, tier.unit_seconds)
    if fen is None:
        raise TariffRenderError(
            gettext_noop(
                "Wanzhuang takes prices in whole fen per hour: %(row)s costs %(price)s yuan (electricity + "
                "service) per %(seconds)d s of charging, which is not a whole number of fen per hour. "
                "Change the price or the charge unit."
            ),
            row=label,
            price=format_price_e4(price_e4),
            seconds=tier.unit_seconds,
        )
    return fen


def _tiers(tariff: Tariff, charge_mode: int) -> list[tuple[str, PowerTier]]:
    if not tariff.tiers:
        raise TariffRenderError(
            gettext_noop(
                "Wanzhuang charge mode %(mode)d prices by charging time: this tariff is priced by energy "
                "periods. Use energy mode 1 or 8, or give the tariff power tiers."
            ),
            mode=charge_mode,
        )
    return tiers_in_power_order(tariff)


def _time_fields(tariff: Tariff, charge_mode: int) -> dict:
    tiers = _tiers(tariff, charge_mode)
    if len(tiers) > 1:
        raise TariffRenderError(
            gettext_noop(
                "Wanzhuang charge mode %(mode)d has one price for every power: this tariff has %(count)d power "
                "tiers. Use power mode 2 or 9, or keep a single tier."
            ),
            mode=charge_mode,
            count=len(tiers),
        )
    label, tier = tiers[0]
    if charge_mode == _TIME:
        return {
            "charge_type": "fixed",
            "charge_value": _form_array([_hourly_fen(label, tier)]),
            "max_power": tier.power_upper_w,
        }

    # Time mode 2: one level, "pay payment_value fen for time_value seconds", which is our charge unit.
    price_e4 = tier.electricity_price_e4 + tier.service_price_e4
    unit_fen = exact_fen(price_e4)
    if unit_fen is None:
        raise TariffRenderError(
            gettext_noop(
                "Wanzhuang time mode 2 takes the price of a charge unit in whole fen: %(row)s costs %(price)s yuan "
                "(electricity + service) per %(seconds)d s. Change it to a multiple of 0.01 yuan."
            ),
            row=label,
            price=format_price_e4(price_e4),
            seconds=tier.unit_seconds,
        )
    if not _LEVEL_FEN[0] <= unit_fen <= _LEVEL_FEN[1]:
        raise TariffRenderError(
            gettext_noop(
                "Wanzhuang time mode 2 takes 0.01 to 10.00 yuan per charge unit: %(row)s costs %(price)s yuan "
                "(electricity + service) per %(seconds)d s. Change the price or the charge unit."
            ),
            row=label,
            price=format_price_e4(price_e4),
            seconds=tier.unit_seconds,
        )
    if not _LEVEL_SECONDS[0] <= tier.unit_seconds <= _LEVEL_SECONDS[1]:
        raise TariffRenderError(
            gettext_noop(
                "Wanzhuang time mode 2 takes charge units of 60 s to 12 hours: %(row)s has a charge unit of "
                "%(seconds)d s. Change it."
            ),
            row=label,
            seconds=tier.unit_seconds,
        )
    return {
        # The time-mode-2 list names chargeType too; the form's only values are "fixed" and "custom", and
        # a single level is a fixed price.
        "charge_type": "fixed",
        "payment_value": _form_array([unit_fen]),
        "time_value": _form_array([tier.unit_seconds]),
        "max_power": tier.power_upper_w,
    }


def _energy_fields(tariff: Tariff, charge_mode: int, *, capped: bool = True) -> dict:
    if not tariff.periods:
        raise TariffRenderError(
            gettext_noop(
                "Wanzhuang charge mode %(mode)d prices by energy: this tariff is priced by power tiers. "
                "Use a time or power mode (0, 2, 7 or 9), or give the tariff periods."
            ),
            mode=charge_mode,
        )
    periods = periods_in_day_order(tariff)
    first_label, first = periods[0]
    price_e4 = first.electricity_price_e4 + first.service_price_e4
    for label, period in periods[1:]:
        period_price_e4 = period.electricity_price_e4 + period.service_price_e4
        if period_price_e4 != price_e4:
            raise TariffRenderError(
                gettext_noop(
                    "Wanzhuang energy modes have one price per kWh for the whole day: %(row)s costs %(price)s yuan "
                    "per kWh (electricity + service), %(first)s costs %(first_price)s yuan. "
                    "Give every period the same total price."
                ),
                row=label,
                price=format_price_e4(period_price_e4),
                first=first_label,
                first_price=format_price_e4(price_e4),
            )
    if capped and tariff.max_pay_fen <= 0:
        raise TariffRenderError(
            gettext_noop(
                "Wanzhuang energy modes bill at most 30.00 yuan a session: this tariff has no maximum payment. "
                "Set one between 0.01 and 30.00 yuan."
            )
        )
    if capped and tariff.max_pay_fen > _ENERGY_MAX_PAY_FEN:
        raise TariffRenderError(
            gettext_noop(
                "Wanzhuang energy modes bill at most 30.00 yuan a session: this tariff's maximum payment is "
                "%(max_pay)s yuan. Lower it to 30.00 yuan or less."
            ),
            max_pay=format_fen(tariff.max_pay_fen),
        )
    fen = exact_fen(price_e4)
    if fen is None:
        # "如需使用4位数计费,不要传work_charge,传该字段即可": four-digit billing means the four-digit field alone.
        return {"work_charge_fourdigit": price_e4}
    return {"work_charge": fen}


def _power_fields(tariff: Tariff, charge_mode: int) -> dict:
    tiers = _tiers(tariff, charge_mode)
    return {
        "power_value": _form_array(tier.power_upper_w for _label, tier in tiers),
        "price_value": _form_array(_hourly_fen(label, tier) for label, tier in tiers),
        "type": 0,  # basic setting: the advanced one is not modelled by our tariffs
        "max_power": tiers[-1][1].power_upper_w,
    }


def save_mode_fields(tariff: Tariff, *, charge_mode: int) -> dict:
    """The tariff fields of the `saveMode` form (of the car-pile form for mode 11) for `charge_mode`, as ints
    and strings."""
    if charge_mode not in (*_MODES, _CAR_ENERGY):
        raise TariffRenderError(
            gettext_noop("Wanzhuang has no charge mode %(mode)s: use charge mode 0, 1, 2, 7, 8, 9 or 11."),
            mode=charge_mode,
        )
    require_rows(tariff)
    if tariff.free_charge_seconds:
        raise TariffRenderError(
            gettext_noop(
                "Wanzhuang charge modes have no free charging time: this tariff bills the first %(seconds)d s of "
                "a session as free, which the device would bill. Give stations with Wanzhuang devices a tariff "
                "without free charging time."
            ),
            seconds=tariff.free_charge_seconds,
        )
    if charge_mode == _CAR_ENERGY:
        return {"charge_mode": charge_mode, "start_fee": tariff.start_fee_fen, "max_pay_fee": tariff.max_pay_fen,
                "whether_refund": 1 if tariff.refundable else 0, "is_free_charge": 1 if tariff.free_charging else 0,
                **_energy_fields(tariff, charge_mode, capped=False)}

    form = {"charge_mode": charge_mode, "start_fee": tariff.start_fee_fen}
    if charge_mode in _MODES_WITH_MAX_PAY:
        form["max_pay_fee"] = tariff.max_pay_fen
    form["whether_refund"] = 1 if tariff.refundable else 0
    form["is_free_charge"] = 1 if tariff.free_charging else 0
    if charge_mode in (_TIME, _TIME_2):
        form.update(_time_fields(tariff, charge_mode))
    elif charge_mode in (_ENERGY, _ENERGY_2):
        form.update(_energy_fields(tariff, charge_mode))
    else:
        form.update(_power_fields(tariff, charge_mode))
    return form


def _mode_taken(modes: tuple[int, ...], device_type: int | None) -> int | None:
    """The first of `modes` a device of `device_type` takes (saveMode's "只能匹配" lines)."""
    return next((mode for mode in modes if device_type is not None and c.mode_fits(mode, device_type)), None)


def charge_mode_for(tariff: Tariff, *, device_type: int | None) -> int:
    """The charge mode a device of `device_type` bills `tariff` with, when its operator chose none."""
    if device_type in c.CAR_DEVICE_TYPES:
        return _CAR_ENERGY
    if tariff.periods:
        mode = _mode_taken((_ENERGY, _ENERGY_2), device_type)
    elif len(tariff.tiers) > 1:
        mode = _mode_taken((_POWER, _POWER_2), device_type)
    else:  # one tier: a power mode of one bound, or a time mode where the device takes no power mode
        mode = _mode_taken((_POWER, _POWER_2, _TIME, _TIME_2), device_type)
    if mode is None:
        raise TariffRenderError(
            gettext_noop(
                "A Wanzhuang device of type %(type)s has no charge mode for this tariff (priced by %(priced)s). "
                "Choose its charge mode in its Wanzhuang device settings, or price the station the other way."
            ),
            type=device_type,
            priced=gettext_noop("energy periods") if tariff.periods else gettext_noop("power tiers"),
        )
    return mode


def device_settings_fields(settings) -> dict:
    """The device settings of the saveMode form, from a `DeviceSettings` (its defaults when unsaved)."""
    return {
        "is_not_disturb": "1" if settings.is_not_disturb else "0",
        "not_disturb_start": _clock(settings.not_disturb_start),
        "not_disturb_end": _clock(settings.not_disturb_end),
        "not_disturb_volume": settings.not_disturb_volume,
        "is_outage": 1 if settings.is_outage else 0,
        "auto_off_wait_time": settings.auto_off_wait_time,
        "auto_off_lower_power": settings.auto_off_lower_power,
        "floating_charge_time": str(settings.floating_charge_time),
        "floating_charge_power": settings.floating_charge_power,
        "detect_time": settings.detect_time,
        "check_time": settings.check_time,
        "inc_time": settings.inc_time,
        "count_mode": settings.count_mode,
        "display_delay": str(settings.display_delay),
    }


def _clock(value) -> str:
    """A time of day as "HH:MM" (a default may still be the text it was declared with)."""
    return value if isinstance(value, str) else value.strftime("%H:%M")
