"""What the fault tests share: a partner taking order callbacks, the task cluster as a process of its own, and
the broker its tasks go through (the suite's settings run tasks inline)."""

import datetime as dt
import os
import sys

import pytest
import redis
from django.utils import timezone
from django_q.conf import Conf

from integrations.partnerkit.access import partner_access_get
from orders.models import OrderStatus
from tests.chargers.factories import ChargerFactory, ConnectorFactory
from tests.helpers import ProcessGroup, database_url_of
from tests.orders.factories import OrderFactory, PartnerFactory
from tests.stations.factories import StationFactory
from tests.tariffs.factories import TariffVersionFactory

# A Redis database of the fault tests' own, emptied before and after each test that uses it.
FAULTS_REDIS_URL = os.environ.get("FAULTS_REDIS_URL", "redis://127.0.0.1:6379/13")


@pytest.fixture
def partner_sessions(db):
    """`partner_sessions(count, callback_url=...)`: `count` sessions of one partner taking order callbacks at
    `callback_url`, each on a charger of its own, charging since ten minutes ago, nothing measured yet."""

    def make(count: int, *, callback_url: str, serial_prefix: str = "10127"):
        partner = PartnerFactory(org_code="DIDI")
        access = partner_access_get(partner=partner)
        access.callback_url = callback_url
        access.save()
        version = TariffVersionFactory()
        station = StationFactory(tariff_template=version.template)
        return [
            OrderFactory(
                connector=ConnectorFactory(charger=ChargerFactory(station=station, serial=f"{serial_prefix}{n:05d}"),
                                           number=1),
                partner=partner, status=OrderStatus.CHARGING, started_at=timezone.now() - dt.timedelta(minutes=10),
                ended_at=None, charge_seconds=0, park_seconds=0, energy_wh=0, electricity_fee_fen=0,
                service_fee_fen=0, total_fee_fen=0, soc=None, close_reason="", tariff_version=version,
            )
            for n in range(1, count + 1)
        ]

    return make


# --- the broker -------------------------------------------------------------------------------------------------------


@pytest.fixture
def orm_broker(monkeypatch):
    """Tasks enqueued by this process go to django-q2's ORM broker on the test database, as on a deployment
    without Redis. django-q2 reads Q_CLUSTER once, when it is imported, so its configuration is switched here."""
    monkeypatch.setattr(Conf, "SYNC", False)
    monkeypatch.setattr(Conf, "ORM", "default")


@pytest.fixture
def redis_broker(monkeypatch):
    """Tasks enqueued by this process go to Redis (FAULTS_REDIS_URL, a database of its own, emptied before and
    after), as in production. Redis not answering is an error of the test, not a reason to skip it."""
    client = redis.Redis.from_url(FAULTS_REDIS_URL)
    client.ping()
    client.flushdb()
    monkeypatch.setattr(Conf, "SYNC", False)
    monkeypatch.setattr(Conf, "ORM", None)
    monkeypatch.setattr(Conf, "REDIS", FAULTS_REDIS_URL)
    try:
        yield client
    finally:
        client.flushdb()
        client.close()


# --- the task cluster -------------------------------------------------------------------------------------------------


@pytest.fixture
def task_cluster(tmp_path):
    """`task_cluster(**env)`: start `manage.py qcluster` on the test database with the fault tests' settings (tasks
    through the broker; REDIS_URL in `env` makes Redis the broker); every cluster started is killed at the end."""
    started: list[ProcessGroup] = []

    def start(**env: str) -> ProcessGroup:
        environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.faults.settings",
                       "DATABASE_URL": database_url_of(), **env}
        if "REDIS_URL" not in env:
            environment.pop("REDIS_URL", None)  # the ORM broker, whatever the shell running the suite has set
        cluster = ProcessGroup(tmp_path / f"qcluster-{len(started)}.log", [sys.executable, "manage.py", "qcluster"],
                               env=environment)
        started.append(cluster)
        return cluster

    try:
        yield start
    finally:
        for cluster in started:
            cluster.kill()
