import pytest

pytestmark = pytest.mark.django_db


def test_admin_speaks_chinese_by_default(client, superuser):
    client.force_login(superuser)

    page = client.get("/admin/").content.decode()

    assert "充电运营后台" in page
    assert 'id="language-switch"' in page and 'value="en"' in page
    for app in ("费率", "电站", "充电桩", "订单"):
        assert app in page


def test_an_operator_can_switch_the_admin_to_english_and_back(client, superuser):
    client.force_login(superuser)

    response = client.post("/i18n/setlang/", {"language": "en", "next": "/admin/"})
    assert response.status_code == 302
    english = client.get("/admin/").content.decode()
    assert "Charging back office" in english
    assert "Tariff templates" in english
    assert "充电运营后台" not in english

    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/admin/"})
    assert "充电运营后台" in client.get("/admin/").content.decode()
