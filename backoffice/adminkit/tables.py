"""Admin pieces for tables that vendors and services write, some of them growing by millions of rows a day."""

import datetime as dt

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.db.models import Exists, Max, Min
from django.utils import timezone
from django.utils.translation import gettext

from .paginators import LargeTablePaginator


class ReadOnlyAdminMixin:
    """For rows that only vendors and services write: people may look, never add, change or delete.

    Viewing stays governed by the view permission; not even a superuser gets the other three,
    because an edit here would contradict the vendor's record and the money derived from it.
    """

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def is_superuser(request) -> bool:
    return request.user.is_active and request.user.is_superuser


class SuperusersOnlyAdminMixin:
    """Pages only active superusers see (security records, authenticators), whatever permissions a group is
    given; what they may do there each admin says."""

    def has_module_permission(self, request):
        return is_superuser(request)

    def has_view_permission(self, request, obj=None):
        return is_superuser(request)


class RowActionsAdminMixin:
    """Read-only rows that people with the change permission may act on from the list.

    ReadOnlyAdminMixin refuses the change permission outright, which would also hide the actions that
    require it (replay, retry). Here the model-level question, asked by the index, the list and its
    actions, gets the user's real change permission; the object-level one, asked by a row's page and
    its POST, stays refused. So the page of a row remains read-only and a posted change is refused,
    for superusers too.
    """

    def has_change_permission(self, request, obj=None):
        if obj is not None:
            return False
        return admin.ModelAdmin.has_change_permission(self, request)

    def changelist_view(self, request, extra_context=None):
        # Rows are looked at here, not changed; the title should not say otherwise.
        title = gettext("Select %s to view") % self.opts.verbose_name
        return super().changelist_view(request, extra_context={"title": title, **(extra_context or {})})


def _next_period(start, kind):
    if kind == "year":
        return start.replace(year=start.year + 1)
    if kind == "month":
        if start.month == 12:
            return start.replace(year=start.year + 1, month=1)
        return start.replace(month=start.month + 1)
    return start + dt.timedelta(days=1)


def _truncate(moment, kind):
    if kind == "year":
        return moment.replace(month=1, day=1)
    if kind == "month":
        return moment.replace(day=1)
    return moment


class ProbedDatesMixin:
    """A QuerySet whose `datetimes()` probes each period instead of scanning every row.

    The admin's date hierarchy lists the years, months or days that have rows with
    `SELECT DISTINCT trunc(field)`, which reads every row of the filtered queryset: on an orders
    table a month is hundreds of thousands of rows. Here the first and last value come from the
    index (MIN/MAX), and one query asks EXISTS for each candidate period between them (at most 12
    months or 31 days at the levels the hierarchy shows), each an index range probe. Only
    `datetimes()` is probed, which the hierarchy uses for DateTimeFields; `dates()` is Django's.
    """

    PROBED_KINDS = ("year", "month", "day")
    MAX_PROBES = 400  # beyond this many periods a single scan is cheaper than the probes

    def aggregate(self, *args, **kwargs):
        # The date hierarchy asks MIN/MAX of the same queryset twice (once itself, once here);
        # when a filter is not indexed each costs a scan, so the second is answered from memory.
        # A filtered clone is a new instance and starts without this memo.
        try:
            key = (args, tuple(sorted(kwargs.items())))
            hash(key)
        except TypeError:
            return super().aggregate(*args, **kwargs)
        memo = self.__dict__.setdefault("_aggregate_memo", {})
        if key not in memo:
            memo[key] = super().aggregate(*args, **kwargs)
        return dict(memo[key])

    def datetimes(self, field_name, kind, order="ASC", tzinfo=None):
        if kind not in self.PROBED_KINDS or order not in ("ASC", "DESC"):
            return super().datetimes(field_name, kind, order, tzinfo)
        tzinfo = (tzinfo or timezone.get_current_timezone()) if settings.USE_TZ else None
        bounds = self.aggregate(first=Min(field_name), last=Max(field_name))
        if bounds["first"] is None:
            return []
        first, last = bounds["first"], bounds["last"]
        if tzinfo is not None:
            first, last = first.astimezone(tzinfo), last.astimezone(tzinfo)
        start = _truncate(first.replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None), kind)
        end = last.replace(tzinfo=None)
        periods = []
        while start <= end:
            periods.append(start.replace(tzinfo=tzinfo))
            start = _next_period(start, kind)
        found = self._probe(field_name, periods, kind)
        if found is None:
            return super().datetimes(field_name, kind, order, tzinfo)
        return found if order == "ASC" else found[::-1]

    def _probe(self, field_name, periods, kind):
        if len(periods) > self.MAX_PROBES:
            return None
        probes = {
            f"period_{i}": Exists(
                self.filter(**{f"{field_name}__gte": start, f"{field_name}__lt": _next_period(start, kind)})
            )
            for i, start in enumerate(periods)
        }
        # One row of the table carries the uncorrelated EXISTS columns; the database evaluates
        # each once. The table has rows: the MIN above found one.
        row = self.model._base_manager.using(self.db).order_by().annotate(**probes).values_list(*probes)[:1]
        flags = next(iter(row))
        return [start for start, present in zip(periods, flags, strict=True) if present]


_probed_classes = {}


def with_probed_dates(queryset):
    """The same queryset, of a subclass of its own class with ProbedDatesMixin's datetimes()."""
    cls = queryset.__class__
    if cls not in _probed_classes:
        _probed_classes[cls] = type(f"ProbedDates{cls.__name__}", (ProbedDatesMixin, cls), {})
    clone = queryset._chain()
    clone.__class__ = _probed_classes[cls]
    return clone


class LargeTableChangeList(ChangeList):
    def get_queryset(self, request, exclude_parameters=None):
        return with_probed_dates(super().get_queryset(request, exclude_parameters))


class LargeTableAdminMixin:
    """Keeps the changelist of a table with millions of rows to a few indexed queries.

    No full COUNT(*) (neither of the filtered nor of the whole table), no facet counts, which
    would each scan the table on every page view, and a date hierarchy that probes the index
    instead of reading every row (ProbedDatesMixin).
    """

    paginator = LargeTablePaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER

    def get_changelist(self, request, **kwargs):
        return LargeTableChangeList


def recent_values_filter(field_name, title, time_field, sample=1000):
    """A list filter over the values of a free-text column seen in the latest `sample` rows.

    Django's own filter for such a column asks SELECT DISTINCT over the whole table on every page
    view, a full scan of millions of rows. The latest rows come from the time index instead and hold
    every kind that is current; an older, rare value can still be filtered by its URL parameter, and
    then it is listed too.
    """

    class RecentValuesFilter(admin.SimpleListFilter):
        parameter_name = field_name

        def lookups(self, request, model_admin):
            newest_first = model_admin.model._default_manager.order_by(f"-{time_field}")
            latest = newest_first.values_list(field_name, flat=True)[:sample]
            values = {value for value in latest if value}
            if self.value():
                values.add(self.value())
            return [(value, value) for value in sorted(values)]

        def queryset(self, request, queryset):
            if self.value():
                return queryset.filter(**{field_name: self.value()})
            return queryset

    RecentValuesFilter.title = title
    return RecentValuesFilter
