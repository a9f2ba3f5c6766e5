"""Each edited object's history, as the people who edit it make it and read it in the admin (in Chinese, the
site's language): who, when, and each changed field's old and new value; never a way back to an old version."""

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Group, Permission
from django.urls import NoReverseMatch, reverse
from django.utils import translation
from django.utils.text import capfirst
from simple_history.models import HistoricalChanges

from integrations.partnerkit.access import partner_access_get
from integrations.partnerkit.models import PartnerAccess
from orders.models import ChargingCard
from tariffs.models import TariffDetail
from tariffs.services import tariff_version_publish
from tests.audit.conftest import form_data, records
from tests.chargers.factories import ChargerFactory, ConnectorFactory
from tests.orders.factories import PartnerFactory
from tests.stations.factories import StationFactory
from tests.tariffs.factories import PeriodFactory, TariffTemplateFactory

pytestmark = pytest.mark.django_db


def change_url(obj):
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])


def history_url(obj):
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_history", args=[obj.pk])


def historical_models():
    return [model for model in apps.get_models() if issubclass(model, HistoricalChanges)]


def label(model, field):
    with translation.override("zh-hans"):
        return str(capfirst(model._meta.get_field(field).verbose_name))


def edit(client, obj, **changes):
    """Post the object's change page as the browser would, with `changes`; the object's new records."""
    before = len(records(obj))
    response = client.post(change_url(obj), form_data(client.get(change_url(obj)), **changes))
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else response
    return records(obj)[before:]


def assert_listed(client, obj, *texts):
    """The object's history page answers, in Chinese, and shows each of `texts`."""
    response = client.get(history_url(obj))
    content = response.content.decode()
    assert response.status_code == 200
    assert "修改人" in content and "改动" in content  # Changed by, Changes: the zh_Hans of simple-history and Django
    for text in texts:
        assert text in content, text
    return content


# --- each model: an edit writes who, when, old and new; its history page lists it ---------------------------


EDITS = [
    # (factory, admin role, posted field, new value, the record's field, its old value)
    (lambda: StationFactory(name="南山站"), "operator", "name", "南山科技园站", "name", "南山站"),
    (lambda: ChargerFactory(name="1 号桩"), "operator", "name", "1 号快充桩", "name", "1 号桩"),
    (lambda: ConnectorFactory(name="A 枪"), "operator", "name", "A 快充枪", "name", "A 枪"),
    (lambda: PeriodFactory(template__name="工作日分时").template, "operator", "name", "夏季分时", "name", "工作日分时"),
    (lambda: ChargingCard.objects.create(number="C2001", holder="张三"),
     "operator", "holder", "李四", "holder", "张三"),
    (lambda: PartnerFactory(name="出行平台"), "superuser", "name", "出行平台华南", "name", "出行平台"),
]


@pytest.mark.parametrize(("make", "role", "posted", "value", "field", "old"), EDITS,
                         ids=["station", "charger", "connector", "template", "card", "partner"])
def test_an_edit_in_the_admin_is_recorded_with_who_when_old_and_new_and_listed(
    request, client, moment, make, role, posted, value, field, old
):
    # Given an object and a staff user who may change it
    obj = make()
    user = request.getfixturevalue(role)
    client.force_login(user)

    # When the user changes one field on its page
    with moment:
        (record,) = edit(client, obj, **{posted: value})

    # Then one record says who, when, and the field's old and new value
    assert record.history_user == user
    assert record.history_date in moment
    assert (getattr(record.prev_record, field), getattr(record, field)) == (old, value)
    # And the object's history page lists it by the field's Chinese name
    assert_listed(client, obj, label(type(obj), field), old, value, user.username)


def test_finance_reads_the_history_of_a_partner_it_may_only_view(client, superuser, finance):
    partner = PartnerFactory(name="出行平台")
    client.force_login(superuser)
    edit(client, partner, name="出行平台华南")

    client.force_login(finance)

    assert_listed(client, partner, "出行平台", "出行平台华南", superuser.username)


def test_a_history_page_for_an_id_of_no_object_is_the_admins_message_not_an_error(client, operator):
    client.force_login(operator)

    response = client.get(reverse("admin:stations_station_history", args=["not-a-number"]))

    assert response.status_code == 302


# --- rows edited inline: a template's periods, a charger's connectors, a partner's access --------------------


def test_the_templates_history_page_shows_its_rows_changes(client, operator):
    # Given a template of one all-day period
    template = TariffTemplateFactory(name="工作日分时")
    PeriodFactory(template=template, position=1, start_minute=0, end_minute=1440, electricity_price_e4=6500)
    client.force_login(operator)

    # When the operator raises the period's price on the template's page
    edit(client, template, **{"details-0-electricity_price_e4": "0.7000"})

    # Then the template's history page has a section of its rows with the change, by whom
    content = assert_listed(client, template, label(TariffDetail, "electricity_price_e4"), "6500", "7000")
    with translation.override("zh-hans"):
        assert str(capfirst(TariffDetail._meta.verbose_name_plural)) in content
    section = content[content.index('class="module related-history"'):]
    assert "6500" in section and "7000" in section and operator.username in section


def test_the_chargers_history_page_shows_its_connectors_renamed_on_its_page(client, operator):
    connector = ConnectorFactory(name="A 枪")
    client.force_login(operator)

    edit(client, connector.charger, **{"connectors-0-name": "A 快充枪"})

    section = assert_listed(client, connector.charger)
    section = section[section.index('class="module related-history"'):]
    assert "A 枪" in section and "A 快充枪" in section


def test_a_partners_access_change_is_one_record_listed_on_the_partners_history(client, superuser):
    # Given a partner with access to no station
    partner = PartnerFactory(name="出行平台")
    access = partner_access_get(partner=partner)
    first, second = StationFactory(name="福田站"), StationFactory(name="罗湖站")
    before = len(records(access))
    client.force_login(superuser)

    # When its callback address and two stations are set on its page in one save
    url = change_url(partner)
    data = form_data(client.get(url), **{"access-0-callback_url": "https://partner.example.com/cb",
                                         "access-0-stations": [str(first.pk), str(second.pk)]})
    assert client.post(url, data).status_code == 302

    # Then one record holds both changes
    (record,) = records(access)[before:]
    assert record.history_user == superuser
    assert record.callback_url == "https://partner.example.com/cb"
    assert {row.station_id for row in record.stations.all()} == {first.pk, second.pk}
    # And the partner's history page shows them, the stations by name
    section = assert_listed(client, partner)
    section = section[section.index('class="module related-history"'):]
    assert "https://partner.example.com/cb" in section and "福田站" in section and "罗湖站" in section


def test_a_new_secret_leaves_its_hint_in_history_and_no_hash(client, superuser):
    # Given a partner whose secret was issued once
    partner = PartnerFactory()
    client.force_login(superuser)
    secret_url = reverse("admin:orders_partner_secret", args=[partner.pk])
    assert client.post(secret_url, {}).status_code == 302
    old_hint = PartnerAccess.objects.get(partner=partner).secret_hint

    # When a new one is issued on the partner's page
    assert client.post(secret_url, {}).status_code == 302

    # Then its history tells the new secret's hint and time, by whom
    access = PartnerAccess.objects.get(partner=partner)
    record = records(access)[-1]
    assert (record.prev_record.secret_hint, record.secret_hint) == (old_hint, access.secret_hint)
    assert record.secret_set_at == access.secret_set_at and record.history_user == superuser
    assert_listed(client, partner, old_hint, access.secret_hint)
    # And neither hash is anywhere in it
    hashes = {access.secret_hash, access.previous_secret_hash}
    stored = [str(value) for row in PartnerAccess.history.values() for value in row.values()]
    assert access.secret_hash and access.previous_secret_hash
    assert hashes.isdisjoint(stored)


def test_no_historical_model_keeps_a_field_of_a_hash():
    # A hash copied into history would be kept for good: a new hash field must be in its excluded_fields.
    historical = historical_models()
    assert historical
    assert [f"{model.__name__}.{field.name}" for model in historical for field in model._meta.fields
            if "hash" in field.name or field.name == "password"] == []


def test_the_admins_own_log_of_the_object_is_listed_too(client, superuser):
    # Given a partner whose tokens a superuser revoked from the list (an action that changes no recorded field)
    partner = PartnerFactory()
    client.force_login(superuser)
    response = client.post(reverse("admin:orders_partner_changelist"),
                           {"action": "revoke_tokens", "_selected_action": [partner.pk]})
    assert response.status_code == 302
    entry = LogEntry.objects.get(object_id=str(partner.pk))

    # Then the partner's history page says so, with who
    content = assert_listed(client, partner, entry.get_change_message())
    section = content[content.index('class="module admin-actions"'):]
    assert superuser.username in section


# --- services the admin calls with a reason -----------------------------------------------------------------


def test_publishing_a_template_is_recorded_in_its_history_with_the_note(client, operator):
    template = TariffTemplateFactory(name="工作日分时")
    PeriodFactory(template=template, position=1, start_minute=0, end_minute=1440)

    tariff_version_publish(template=template, published_by=operator, note="夏季调价")

    record = records(template)[-1]
    assert record.history_user == operator
    assert "夏季调价" in record.history_change_reason
    client.force_login(operator)
    assert_listed(client, template, "夏季调价")


def test_assigning_a_tariff_template_to_stations_from_their_list_is_recorded_for_each(client, operator):
    first, second = StationFactory(), StationFactory()
    template = TariffTemplateFactory(name="夏季分时")
    client.force_login(operator)

    response = client.post(reverse("admin:stations_station_changelist"), {
        "action": "assign_tariff_template", "_selected_action": [first.pk, second.pk], "apply": "1",
        "template": template.pk,
    })

    assert response.status_code in (200, 302)
    for station in (first, second):
        record = records(station)[-1]
        assert record.tariff_template_id == template.pk and record.history_user == operator


# --- users and groups --------------------------------------------------------------------------------------


def test_a_users_groups_changed_in_the_admin_are_one_record_listed_on_its_history(client, superuser, operator):
    # Given an operator (in Operators), its dates to the second as the form posts them
    operator.date_joined = operator.date_joined.replace(microsecond=0)
    operator.save()
    finance_group = Group.objects.get(name="Finance")
    client.force_login(superuser)

    # When a superuser adds it to Finance too
    groups = [str(pk) for pk in operator.groups.values_list("pk", flat=True)] + [str(finance_group.pk)]
    (record,) = edit(client, operator, groups=groups)

    # Then one record, by the superuser, holds both groups, and the page lists the change
    assert record.history_user == superuser
    assert {row.group_id for row in record.groups.all()} == set(operator.groups.values_list("pk", flat=True))
    assert {row.group_id for row in record.prev_record.groups.all()} == {Group.objects.get(name="Operators").pk}
    content = assert_listed(client, operator, label(type(operator), "groups"), "Finance")
    assert "pw-staff" not in content and "md5$" not in content


def test_a_password_changed_in_the_admin_is_recorded_by_its_reason_without_its_hash(client, superuser, operator):
    client.force_login(superuser)
    before = len(records(operator))

    response = client.post(reverse("admin:auth_user_password_change", args=[operator.pk]),
                           {"password1": "another-pw-5678", "password2": "another-pw-5678"})

    assert response.status_code == 302
    (record,) = records(operator)[before:]
    assert record.history_user == superuser and record.history_change_reason
    assert not hasattr(record, "password")


def test_a_groups_permissions_changed_in_the_admin_are_recorded(client, superuser):
    group = Group.objects.create(name="Auditors")
    permission = Permission.objects.get(codename="view_station")
    client.force_login(superuser)

    permissions = [str(pk) for pk in group.permissions.values_list("pk", flat=True)] + [str(permission.pk)]
    (record,) = edit(client, group, permissions=permissions)

    assert record.history_user == superuser
    assert permission.pk in {row.permission_id for row in record.permissions.all()}
    assert permission.pk not in {row.permission_id for row in record.prev_record.permissions.all()}
    assert_listed(client, group, str(permission))


# --- read-only: no revert ---------------------------------------------------------------------------------


def test_the_history_page_offers_no_revert(client, operator):
    station = StationFactory(name="南山站")
    client.force_login(operator)
    edit(client, station, name="南山科技园站")

    response = client.get(history_url(station))

    content = response.content.decode()
    assert response.context["revert_disabled"] is True
    assert "还原" not in content and "Revert" not in content  # Revert
    assert f"{history_url(station)}{records(station)[0].pk}/" not in content


def test_an_old_version_posted_back_where_simple_history_reverts_changes_nothing(client, operator):
    # Given a station renamed, and the address simple-history would revert its first version from
    station = StationFactory(name="南山站")
    client.force_login(operator)
    edit(client, station, name="南山科技园站")
    data = form_data(client.get(change_url(station)), name="南山站")
    url = f"{history_url(station)}{records(station)[0].pk}/"

    # When that version's page is asked for, or the old name posted to it
    seen, posted = client.get(url), client.post(url, data)

    # Then there is no such page, and the station keeps its name
    assert 200 not in (seen.status_code, posted.status_code)
    with pytest.raises(NoReverseMatch):
        reverse("admin:stations_station_simple_history", args=[station.pk, records(station)[0].pk])
    station.refresh_from_db()
    assert station.name == "南山科技园站"


def test_historical_models_have_no_admin_and_no_permissions():
    historical = historical_models()

    assert historical and not [model for model in historical if model in admin.site._registry]
    assert [model for model in historical if model._meta.default_permissions] == []
    assert not Permission.objects.filter(content_type__model__startswith="historical").exists()
