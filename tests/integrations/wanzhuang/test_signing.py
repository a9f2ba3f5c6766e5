"""Wanzhuang's signature against fixed vectors.

The expected digests were computed outside our code, in a shell, from the signing strings written out by
hand:

    printf '%s' "$STRING" | openssl dgst -sha256 -hmac 'wz-test-secret'     # hmac-sha256
    printf '%s' "$STRING"'wz-test-secret' | sha256sum                      # sha256

The first vector is the worked example of Wanzhuang's 接入指引 (its parameters; the page's own digest and
key were not readable).
"""

from __future__ import annotations

import pytest

from integrations.wanzhuang import signing

SECRET = "wz-test-secret"

# 接入指引's example, in the page's (unsorted) order.
EXAMPLE = {
    "device_num": "19285526",
    "device_port": 2,
    "is_error": True,
    "app_id": "3a7030ea45a08d",
    "timestamp": 1644902382,
}
EXAMPLE_STRING = "app_id=3a7030ea45a08d&device_num=19285526&device_port=2&is_error=true&timestamp=1644902382"
EXAMPLE_HMAC = "178fafd27d0cdc0d37d65c5c8edcbc8b4f0e8ede9bfbb77e040b899ea77cbb18"
EXAMPLE_SHA256 = "b8a5223811a3e4a461eea906aa125637b3acfc60a3468190581e2553ac5bb3ca"

# Lists as compact JSON; an empty value, a None and a stale sign left out.
LISTS = {
    "timestamp": 1644902382,
    "port_fields": ["state", "charge_id"],
    "device_nums": ["19285526", "19285527"],
    "remark": "",
    "page": None,
    "app_id": "3a7030ea45a08d",
    "sign": "0" * 64,
}
LISTS_STRING = (
    'app_id=3a7030ea45a08d&device_nums=["19285526","19285527"]&port_fields=["state","charge_id"]&timestamp=1644902382'
)
LISTS_HMAC = "19b38a91e3eeb7499c73b68982c953e7e6315f4ef2628216d22625bdde2c3d10"
LISTS_SHA256 = "476bd171cedc60d538ecb6e87ba959eeadff58a055d3878d168df6b17685b677"

# An object (its keys in their order, Chinese unescaped), Chinese text, false.
OBJECTS = {
    "app_id": "3a7030ea45a08d",
    "timestamp": 1644902382,
    "device_name": "一号桩",
    "is_free_charge": False,
    "charge_value": {"价格": [200, 400], "type": "fixed"},
}
OBJECTS_STRING = (
    'app_id=3a7030ea45a08d&charge_value={"价格":[200,400],"type":"fixed"}&device_name=一号桩'
    "&is_free_charge=false&timestamp=1644902382"
)
OBJECTS_HMAC = "c1a2f493f0e7ed4178f3521ab65269e76cea93844c6e3c2129e1d495f30e6a73"
OBJECTS_SHA256 = "d96a71fc558c2583dc1a4545469987be767c2566c7d3ba8f658947db77cece76"

VECTORS = [
    ("example", EXAMPLE, EXAMPLE_STRING, EXAMPLE_HMAC, EXAMPLE_SHA256),
    ("lists", LISTS, LISTS_STRING, LISTS_HMAC, LISTS_SHA256),
    ("objects", OBJECTS, OBJECTS_STRING, OBJECTS_HMAC, OBJECTS_SHA256),
]
IDS = [vector[0] for vector in VECTORS]


@pytest.mark.parametrize(("name", "params", "string", "hmac_hex", "sha_hex"), VECTORS, ids=IDS)
def test_the_signing_string_is_sorted_and_rendered_as_text(name, params, string, hmac_hex, sha_hex):
    assert signing.signing_string(params) == string


@pytest.mark.parametrize(("name", "params", "string", "hmac_hex", "sha_hex"), VECTORS, ids=IDS)
def test_hmac_sha256_matches_openssl(name, params, string, hmac_hex, sha_hex):
    assert signing.sign(params, secret=SECRET, method="hmac-sha256") == hmac_hex


@pytest.mark.parametrize(("name", "params", "string", "hmac_hex", "sha_hex"), VECTORS, ids=IDS)
def test_plain_sha256_of_string_and_secret_matches_sha256sum(name, params, string, hmac_hex, sha_hex):
    assert signing.sign(params, secret=SECRET, method="sha256") == sha_hex


def test_the_example_string_begins_as_wanzhuangs_page_shows():
    # 接入指引: the sorted string starts "app_id=3a7030ea45a08d&device_num=19285526&device_p…"
    assert signing.signing_string(EXAMPLE).startswith("app_id=3a7030ea45a08d&device_num=19285526&device_p")


def test_values_render_as_they_travel():
    assert signing.text(True) == "true"
    assert signing.text(False) == "false"
    assert signing.text(0) == "0"
    assert signing.text(["A1", "A2"]) == '["A1","A2"]'
    assert signing.text(("A1",)) == '["A1"]'
    assert signing.text({"a": "万"}) == '{"a":"万"}'
    assert signing.text("a b&c") == "a b&c"


def test_zero_and_false_take_part_but_empty_values_do_not():
    assert signing.signing_string({"b": 0, "a": False, "c": "", "d": None}) == "a=false&b=0"
    assert signing.signing_string({"sign": "x"}) == ""


def test_signed_adds_app_id_timestamp_and_the_sign():
    params = {"device_num": "19285526", "device_port": 2, "is_error": True}

    fields = signing.signed(params, app_id="3a7030ea45a08d", secret=SECRET, method="hmac-sha256", now=1644902382)

    assert fields == {**EXAMPLE, "sign": EXAMPLE_HMAC}
    assert "sign" not in params  # the caller's mapping is left as it was


def test_signed_replaces_a_stale_sign():
    fields = signing.signed(
        {"device_num": "19285526", "device_port": 2, "is_error": True, "sign": "stale"},
        app_id="3a7030ea45a08d",
        secret=SECRET,
        method="sha256",
        now=1644902382,
    )

    assert fields["sign"] == EXAMPLE_SHA256


@pytest.mark.parametrize(("method", "digest"), [("hmac-sha256", EXAMPLE_HMAC), ("sha256", EXAMPLE_SHA256)])
def test_signature_valid_accepts_the_right_sign_in_either_case(method, digest):
    assert signing.signature_valid({**EXAMPLE, "sign": digest}, secret=SECRET, method=method)
    assert signing.signature_valid({**EXAMPLE, "sign": digest.upper()}, secret=SECRET, method=method)


def test_signature_valid_as_text_from_a_form():
    # A callback's fields all arrive as strings: "2" and "true" sign as 2 and True do.
    form = {key: signing.text(value) for key, value in EXAMPLE.items()}

    assert signing.signature_valid({**form, "sign": EXAMPLE_HMAC}, secret=SECRET, method="hmac-sha256")


@pytest.mark.parametrize(
    "params",
    [
        pytest.param({**EXAMPLE, "sign": EXAMPLE_SHA256}, id="the other method's sign"),
        pytest.param({**EXAMPLE, "device_port": 3, "sign": EXAMPLE_HMAC}, id="a tampered value"),
        pytest.param({**EXAMPLE, "charge_id": 1, "sign": EXAMPLE_HMAC}, id="an added parameter"),
        pytest.param({**EXAMPLE, "sign": EXAMPLE_HMAC[:-1] + "0"}, id="a tampered sign"),
        pytest.param({**EXAMPLE, "sign": EXAMPLE_HMAC[:32]}, id="a short sign"),
        pytest.param({**EXAMPLE, "sign": ""}, id="an empty sign"),
        pytest.param(dict(EXAMPLE), id="no sign"),
        pytest.param({**EXAMPLE, "sign": "签名" * 32}, id="not hex"),
    ],
)
def test_signature_valid_refuses(params):
    assert not signing.signature_valid(params, secret=SECRET, method="hmac-sha256")


def test_signature_valid_refuses_another_secret():
    assert not signing.signature_valid({**EXAMPLE, "sign": EXAMPLE_HMAC}, secret="other", method="hmac-sha256")


@pytest.mark.parametrize("method", ["md5", "HMAC-SHA256", ""])
def test_an_unknown_method_names_the_setting(method):
    with pytest.raises(ValueError, match="WANZHUANG_SIGN_METHOD"):
        signing.sign(EXAMPLE, secret=SECRET, method=method)
    with pytest.raises(ValueError, match="WANZHUANG_SIGN_METHOD"):
        signing.signature_valid({**EXAMPLE, "sign": EXAMPLE_HMAC}, secret=SECRET, method=method)


def test_the_methods_offered():
    assert signing.SIGN_METHODS == ("hmac-sha256", "sha256")
