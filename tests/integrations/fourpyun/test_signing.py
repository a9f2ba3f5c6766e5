"""4pyun's signature reproduces the vectors 4pyun published (doc.4pyun.com/openapi, and its doc repository's
history), and a signature is compared whatever the case of its hex digits."""

from integrations.fourpyun.signing import (
    form_sign,
    form_signing_string,
    json_sign,
    masked,
    signature_matches,
)


def test_the_documented_form_example():
    params = {"app_id": "op88641899bd20661", "car_type": 1, "enter_time": 1563242533431,
              "park_uuid": "40e06b24-7320-4a61-8d97-7ebccb364a87", "plate": "粤B660PP", "sign_type": "MD5",
              "timestamp": 1563242932357}
    assert form_signing_string(params, "XXX") == (
        "app_id=op88641899bd20661&car_type=1&enter_time=1563242533431&park_uuid=40e06b24-7320-4a61-8d97-7ebccb364a87"
        "&plate=粤B660PP&sign_type=MD5&timestamp=1563242932357&app_secret=XXX")
    assert form_sign(params, "XXX") == "c983693c5f603aef30514920fa3158ff"


def test_the_documented_json_example():
    assert json_sign('{"a":"string","b":0,"c":1900000109}', "您的密钥") == "d7f3eca20c666483b2f4963d35a3f547"


def test_the_charging_record_form_example_with_empty_values_and_sign_left_out():
    params = {"app_id": "op00961963581daa7", "device_no": "S1", "end_time": "2023-04-11T09:20:00Z",
              "energy_code": "CN_AC", "energy_value": 207, "fee_value": 975, "port_no": "1", "quantity": 6556,
              "replenish_order": "202304110920004SfjdX", "start_time": "2023-04-11T08:20:00Z",
              "station_uuid": "8f5fdb60-9374-4c11-bdc2-a32d8369258c", "timestamp": 1681176000816,
              "total_value": 1182, "vin": "川A660N2",
              # Neither an empty value nor the signature itself is signed.
              "plate": "", "soc": None, "sign": "anything"}
    assert form_sign(params, "6409292d66625a2a0912acfc61ed956c").upper() == "90A80901298B87DC9E15DE9F236FD164"


def test_a_signature_matches_in_either_case_and_not_when_it_differs():
    expected = json_sign("{}", "secret")
    assert signature_matches(expected.upper(), expected)
    assert signature_matches(f" {expected} ", expected)
    assert not signature_matches(expected[:-1] + ("0" if expected[-1] != "0" else "1"), expected)
    assert not signature_matches("", expected)
    assert not signature_matches("签名", expected)


def test_the_secret_is_masked_in_what_a_refusal_shows():
    assert masked('{"a":1}&app_secret=s3cr3t', "s3cr3t") == '{"a":1}&app_secret=***'
