"""Licence plates: ordinary and new-energy plates are taken, anything else is named with the reason."""

import pytest
from django.utils import translation

from orders.plates import plate_normalise, plate_problem


@pytest.mark.parametrize("plate", [
    "粤B12345", "京A8K9Z2", "川A660N2", "沪C1234挂", "粤Z1234港", "苏E1234学",
    "粤BD12345", "京ADA1234", "沪A12345D", "川A12345F",
])
def test_plates_that_a_parking_platform_can_match(plate):
    assert plate_problem(plate) == ""


@pytest.mark.parametrize("plate, words", [
    ("", "No licence plate"),
    ("AB12345", "province"),
    ("粤B1234", "6 characters"),
    ("粤BO1234", "never I or O"),
    ("粤B12I45", "never I or O"),
    ("粤BA12345", "not a new-energy plate"),
    ("川A660N11", "not a new-energy plate"),
    ("粤B123456789", "characters"),
])
def test_what_is_not_a_plate_is_named_with_its_reason(plate, words):
    with translation.override("en"):
        assert words in plate_problem(plate)
    with translation.override("zh-hans"):
        problem = plate_problem(plate)
    assert problem and (plate in problem or not plate)


def test_what_people_type_is_read_leniently():
    assert plate_normalise(" 粤b·12345 ") == "粤B12345"
    assert plate_normalise("粤Ｂ１２３４５") == "粤B12345"  # full-width
    assert plate_problem(plate_normalise("京a-da1234")) == ""
