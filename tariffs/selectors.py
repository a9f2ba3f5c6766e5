from tariffs.models import TariffTemplate


def tariff_template_snapshot(*, template: TariffTemplate) -> dict:
    """The template as plain data, for an order to keep the prices it was charged at."""
    return {
        "external_id": template.external_id,
        "name": template.name,
        "kind": template.kind,
        "free_charge_seconds": template.free_charge_seconds,
        "min_balance_fen": template.min_balance_fen,
        "details": [
            {
                "position": row.position,
                "end_minute": row.end_minute,
                "interval": row.interval,
                "power_upper_w": row.power_upper_w,
                "electricity_price_e4": row.electricity_price_e4,
                "service_price_e4": row.service_price_e4,
            }
            for row in template.details.order_by("position")
        ],
    }
