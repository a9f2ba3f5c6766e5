"""Giving stations a tariff template: all of them or none."""

import pytest
from django.core.exceptions import ValidationError
from django.utils.translation import override

from stations.models import Station
from stations.services import station_tariff_assign
from tariffs.models import VehicleKind
from tests.stations.factories import StationFactory
from tests.tariffs.factories import TariffTemplateFactory

pytestmark = pytest.mark.django_db


def templates_of(stations):
    return dict(Station.objects.filter(pk__in=[s.pk for s in stations]).values_list("code", "tariff_template_id"))


def test_every_station_given_gets_the_template_and_the_changed_ones_are_counted():
    # Given three EV stations: one already on the template, one on another, one on none
    template = TariffTemplateFactory()
    on_it = StationFactory(code="ST-1", tariff_template=template)
    on_another = StationFactory(code="ST-2")
    on_none = StationFactory(code="ST-3", tariff_template=None)
    untouched = StationFactory(code="ST-4")

    # When the template is assigned to the first three
    changed = station_tariff_assign(station_ids=[on_it.pk, on_another.pk, on_none.pk], template=template)

    # Then all three use it, two of them changed, and the fourth keeps its own
    assert changed == 2
    assert templates_of([on_it, on_another, on_none]) == {"ST-1": template.pk, "ST-2": template.pk, "ST-3": template.pk}
    assert templates_of([untouched]) == {"ST-4": untouched.tariff_template_id}


def test_an_ebike_template_goes_to_ebike_stations():
    template = TariffTemplateFactory(kind=VehicleKind.EBIKE)
    station = StationFactory(kind=VehicleKind.EBIKE, tariff_template=None)

    assert station_tariff_assign(station_ids=[station.pk], template=template) == 1

    assert templates_of([station]) == {station.code: template.pk}


def test_a_station_of_another_kind_fails_the_whole_assignment_and_is_named():
    # Given an EV template, and two EV stations picked with two e-bike stations
    template = TariffTemplateFactory(name="汽车模板", external_id="TPL-EV")
    ev_stations = StationFactory.create_batch(2)
    bikes = [
        StationFactory(code=code, name=name, kind=VehicleKind.EBIKE, tariff_template__kind=VehicleKind.EBIKE)
        for code, name in (("ST-B2", "二号单车站"), ("ST-B1", "一号单车站"))
    ]
    before = templates_of([*ev_stations, *bikes])

    # When the template is assigned to all four
    with override("en"), pytest.raises(ValidationError) as caught:
        station_tariff_assign(station_ids=[s.pk for s in [*ev_stations, *bikes]], template=template)

    # Then no station changed, and the message names the e-bike stations in code order
    assert caught.value.messages == [
        "汽车模板 (TPL-EV) is for Electric vehicle; these stations are not: 一号单车站 (ST-B1)、二号单车站 (ST-B2)."
    ]
    assert templates_of([*ev_stations, *bikes]) == before


def test_no_stations_change_nothing():
    assert station_tariff_assign(station_ids=[], template=TariffTemplateFactory()) == 0


def test_stations_that_no_longer_exist_are_passed_over():
    template = TariffTemplateFactory()
    station = StationFactory()
    gone = StationFactory()
    gone_pk = gone.pk
    gone.delete()

    assert station_tariff_assign(station_ids=[station.pk, gone_pk], template=template) == 1
    assert templates_of([station]) == {station.code: template.pk}
