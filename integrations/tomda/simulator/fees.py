"""The fee templates a Tomda pile bills with (spec 4.3.2), and its rounding."""

from __future__ import annotations

from fractions import Fraction

from integrations.tomda.simulator.protocol import MODEL_TYPES, bad_params, int_field


def round_half_up(value: Fraction) -> int:
    """Fen from an exact non-negative amount, 0.5 rounding up (the pile's rounding, and ours)."""
    return int((value + Fraction(1, 2)) // 1)


class FeeSchedule:
    """A fee template (spec 4.3.2) the pile bills with.

    modelType 1 (EV): rows are day periods; a row ends at endValueOne:endValueTwo (hour:minute) and
    starts where the previous one ended (the first at 00:00); elecFee + serviceFee are fen per kWh.
    modelType 2 (e-bike): rows are power tiers; endValueOne is the tier's upper bound in W and the
    fees are fen per hour. freeChargeTime (seconds) at the start of a session is not billed.
    """

    def __init__(self, model: dict):
        if not isinstance(model, dict):
            raise bad_params("elecFeeModelInfo must be a JSON object")
        self.model_id = str(model.get("clientElecFeeModelId") or "")
        if not self.model_id:
            raise bad_params("elecFeeModelInfo.clientElecFeeModelId is required")
        model_type = int_field(model, "modelType", "elecFeeModelInfo")
        if model_type not in MODEL_TYPES:
            raise bad_params(f"elecFeeModelInfo.modelType must be 1 (EV) or 2 (e-bike), got {model_type}")
        self.kind = MODEL_TYPES[model_type]
        self.free_seconds = int_field(model, "freeChargeTime", "elecFeeModelInfo", required=False) or 0
        details = model.get("elecFeeModelDetail")
        if not isinstance(details, list) or not details:
            raise bad_params("elecFeeModelInfo.elecFeeModelDetail must be a non-empty JSON array")
        count = int_field(model, "modelDetailCount", "elecFeeModelInfo")
        if count != len(details):
            raise bad_params(f"modelDetailCount is {count} but elecFeeModelDetail has {len(details)} rows")
        rows = []
        for index, row in enumerate(details):
            where = f"elecFeeModelDetail[{index}]"
            if not isinstance(row, dict):
                raise bad_params(f"{where} must be a JSON object")
            rows.append(
                (
                    int_field(row, "position", where),
                    int_field(row, "endValueOne", where),
                    int_field(row, "endValueTwo", where, required=False) or 0,
                    int_field(row, "elecFee", where) + int_field(row, "serviceFee", where),
                )
            )
        rows.sort()
        if self.kind == "ev":
            # (start second of day, end second of day, fen per kWh)
            self.periods: list[tuple[int, int, int]] = []
            start = 0
            for _position, hours, minutes, fee in rows:
                end = hours * 3600 + minutes * 60
                if not 0 <= minutes < 60 or not start < end <= 86400:
                    raise bad_params(
                        f"period ending {hours:02d}:{minutes:02d} must end after {start // 3600:02d}:"
                        f"{start % 3600 // 60:02d} and by 24:00"
                    )
                self.periods.append((start, end, fee))
                start = end
        else:
            # (upper bound W, fen per hour), lowest bound first
            self.tiers = sorted((bound, fee) for _position, bound, _minutes, fee in rows)

    def rate(self, *, second_of_day: Fraction, elapsed: Fraction, power_w: int) -> tuple[Fraction, Fraction | None]:
        """(fen per simulated second, seconds until that rate may change; None: not before the end)."""
        if elapsed < self.free_seconds:
            return Fraction(0), self.free_seconds - elapsed
        if self.kind == "ev":
            for start, end, fee in self.periods:
                if start <= second_of_day < end:
                    return Fraction(fee * power_w, 3_600_000), end - second_of_day
            # After the last period's end (a template ending before 24:00): its fee holds to midnight.
            return Fraction(self.periods[-1][2] * power_w, 3_600_000), 86400 - second_of_day
        fee = next((fee for bound, fee in self.tiers if power_w <= bound), self.tiers[-1][1])
        return Fraction(fee, 3600), None
