"""Business days: 00:00–24:00 Asia/Shanghai, the unit of the daily close and of the day partitions. Pure
functions of time."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

BEIJING = ZoneInfo("Asia/Shanghai")


def business_day_bounds(day: date) -> tuple[datetime, datetime]:
    """The instants a business day runs between: [00:00, 24:00) Asia/Shanghai."""
    start = datetime.combine(day, time(), tzinfo=BEIJING)
    return start, datetime.combine(day + timedelta(days=1), time(), tzinfo=BEIJING)


def business_day_of(moment: datetime) -> date:
    """The business day an instant falls in."""
    return moment.astimezone(BEIJING).date()
