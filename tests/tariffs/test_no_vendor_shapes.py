"""Tariffs keep our tariffs and no counterparty's shape of them (DESIGN §2, §6): each shape is built in its
counterparty's folder, `integrations/<counterparty>/payloads.py`.

The rule, for every module of the app (migrations and template tags included):

- no identifier, and no module name, names a counterparty (tomda, wanzhuang or its `wz` abbreviation, partner,
  4pyun as `fourpyun`/`pyun`);
- no code, string, docstring or comment carries a field of a counterparty's structure (`VENDOR_FIELDS`, every
  key the payload builders emit);
- except in a string for the operator that says which vendor field a value feeds: the message of a gettext call,
  or a `help_text` (a model's is translated; a migration freezes it as a plain string). Vendor names may appear
  in docstrings and comments, which say what a value is for.
"""

import ast
import io
import re
import tokenize
from pathlib import Path

import pytest

import tariffs
from integrations.partner.payloads import fee_descriptions
from integrations.tomda.payloads import fee_model
from integrations.wanzhuang.payloads import save_mode_fields
from tariffs.pricing import Period, PowerTier, Tariff

APP = Path(tariffs.__file__).parent
MODULES = sorted(APP.rglob("*.py"))

VENDOR_NAME = re.compile(r"tomda|wanzhuang|partner|pyun|(?:^|_)wz(?:_|$)", re.IGNORECASE)

# The keys of Tomda's elecFeeModelInfo, Wanzhuang's saveMode form and the partner's StubInfo fee texts; `type`
# and `position` are left out, being words our own code uses for its own things.
VENDOR_FIELDS = frozenset(
    {
        # Tomda §4.3.2
        "elecFeeModelInfo",
        "clientElecFeeModelId",
        "modelName",
        "modelType",
        "freeChargeTime",
        "limitCheckBalance",
        "modelDetailCount",
        "elecFeeModelDetail",
        "endValueOne",
        "endValueTwo",
        "elecFee",
        "serviceFee",
        "elecInterval",
        # Wanzhuang saveMode
        "charge_mode",
        "start_fee",
        "max_pay_fee",
        "whether_refund",
        "is_free_charge",
        "charge_type",
        "charge_value",
        "max_power",
        "payment_value",
        "time_value",
        "work_charge",
        "work_charge_fourdigit",
        "power_value",
        "price_value",
        # partner StubInfo
        "electricFee",
    }
)
OUR_WORDS = frozenset({"type", "position"})

TRANSLATORS = frozenset(
    {"_", "gettext", "gettext_lazy", "gettext_noop", "ngettext", "ngettext_lazy", "pgettext", "pgettext_lazy"}
)


def _operator_strings(tree: ast.AST) -> set[int]:
    """The ids of the string constants an operator reads: gettext messages and help texts."""
    allowed = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        values = list(node.args) if name in TRANSLATORS else []
        values += [keyword.value for keyword in node.keywords if keyword.arg == "help_text"]
        allowed.update(id(value) for value in values if isinstance(value, ast.Constant))
    return allowed


def _fields_in(text: str) -> list[str]:
    return [word for word in re.findall(r"\w+", text) if word in VENDOR_FIELDS]


def vendor_shapes(source: str, name: str = "module") -> list[str]:
    """Each place in `source` that breaks the rule, as "<line>: <what>"."""
    found = [f"0: module name {name}"] if VENDOR_NAME.search(name) else []
    tree = ast.parse(source)
    allowed = _operator_strings(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in allowed:
            found += [f"{node.lineno}: vendor field {field} in a string" for field in _fields_in(node.value)]
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        line = token.start[0]
        if token.type == tokenize.NAME:
            if VENDOR_NAME.search(token.string):
                found.append(f"{line}: vendor name in identifier {token.string}")
            if token.string in VENDOR_FIELDS:
                found.append(f"{line}: vendor field {token.string} as an identifier")
        elif token.type == tokenize.COMMENT:
            found += [f"{line}: vendor field {field} in a comment" for field in _fields_in(token.string)]
    return found


@pytest.mark.parametrize("path", MODULES, ids=lambda path: str(path.relative_to(APP)))
def test_no_module_of_tariffs_carries_a_vendor_shape(path):
    relative = path.relative_to(APP).with_suffix("")

    assert vendor_shapes(path.read_text(encoding="utf-8"), name=".".join(relative.parts)) == []


def test_the_rule_finds_a_shape_and_lets_an_operators_help_text_pass():
    source = """
from django.utils.translation import gettext_lazy as _

def tomda_fee_model(tariff):
    # one row per period, as elecFeeModelDetail
    return {"elecFeeModelDetail": [], "work_charge_fourdigit": tariff.price}

external_id = models.CharField(help_text=_("Sent as Tomda clientElecFeeModelId."))
frozen = models.CharField(help_text="Sent as Tomda clientElecFeeModelId.")
"""

    assert vendor_shapes(source, name="renderings") == [
        "6: vendor field elecFeeModelDetail in a string",
        "6: vendor field work_charge_fourdigit in a string",
        "4: vendor name in identifier tomda_fee_model",
        "5: vendor field elecFeeModelDetail in a comment",
    ]
    assert vendor_shapes("", name="wanzhuang") == ["0: module name wanzhuang"]


def _keys(value) -> set[str]:
    if isinstance(value, dict):
        return set(value).union(*(_keys(item) for item in value.values()))
    if isinstance(value, list):
        return set().union(*(_keys(item) for item in value))
    return set()


def test_the_fields_are_every_key_the_payload_builders_emit():
    day = (Period(0, 480, "valley", 3000, 4000), Period(480, 1440, "peak", 5000, 2000))
    four_digit_day = (Period(0, 1440, "plain", 6523, 1000),)
    one_tier = (PowerTier(power_upper_w=800, electricity_price_e4=3000, service_price_e4=2000),)
    ev = Tariff(kind="ev", periods=day, min_balance_fen=2000)
    ebike = Tariff(kind="ebike", tiers=one_tier)
    ebike_by_energy = Tariff(kind="ebike", periods=day, max_pay_fen=3000)
    payloads = [
        {"elecFeeModelInfo": fee_model(ev, external_id="x", name="x")},
        fee_model(ebike, external_id="x", name="x"),
        *(save_mode_fields(ebike, charge_mode=mode) for mode in (0, 2, 7, 9)),
        *(save_mode_fields(ebike_by_energy, charge_mode=mode) for mode in (1, 8)),
        save_mode_fields(Tariff(kind="ebike", periods=four_digit_day, max_pay_fen=3000), charge_mode=1),
        fee_descriptions(ev),
    ]

    assert set().union(*(_keys(payload) for payload in payloads)) - OUR_WORDS == VENDOR_FIELDS
