"""The task cluster of the fault tests as production runs it: tasks go through the broker, not inline.

The suite's settings run tasks inline (`sync`); a `manage.py qcluster` started by a fault test uses these
instead, on the database DATABASE_URL names and with Redis as the broker when REDIS_URL is set (base settings).
OUTBOX_LEASE_SECONDS shortens the lease of a claimed delivery, so that a delivery a killed worker held is due
again within seconds instead of five minutes.
"""

from datetime import timedelta

from config.settings.test import *  # noqa: F403
from config.settings.test import Q_CLUSTER, env

Q_CLUSTER = {**Q_CLUSTER, "sync": False}
OUTBOX_LEASE = timedelta(seconds=env.float("OUTBOX_LEASE_SECONDS", default=300))
