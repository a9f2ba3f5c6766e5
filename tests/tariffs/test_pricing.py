import pytest

from tariffs.pricing import duration_fee_fen, fee_fen


@pytest.mark.parametrize(
    ("wh", "price_e4", "expected"),
    [
        (10_000, 6500, 650),  # 10 kWh at 0.65 yuan
        (1, 6500, 0),  # 0.065 fen rounds down
        (77, 6500, 5),  # 5.005 fen: below the half, so 5
        (1000, 5, 0),  # 0.05 fen
        (1000, 15, 0),  # 0.15 fen
        (10_000, 5, 1),  # 0.5 fen rounds up
        (12_345, 12_345, 1524),  # 1523.99... fen
        (0, 99_999, 0),
    ],
)
def test_energy_fee_is_rounded_half_up_to_the_fen(wh, price_e4, expected):
    assert fee_fen(wh=wh, price_e4=price_e4) == expected


@pytest.mark.parametrize(
    ("seconds", "price_e4", "expected"),
    [(3600, 5000, 50), (1800, 5000, 25), (35, 5000, 0), (36, 5000, 1), (72, 2500, 1), (5400, 7000, 105)],
)
def test_duration_fee_is_rounded_half_up_to_the_fen(seconds, price_e4, expected):
    assert duration_fee_fen(seconds=seconds, price_e4_per_hour=price_e4) == expected


def test_negative_inputs_are_refused():
    with pytest.raises(ValueError):
        fee_fen(wh=-1, price_e4=100)
    with pytest.raises(ValueError):
        duration_fee_fen(seconds=10, price_e4_per_hour=-1)
