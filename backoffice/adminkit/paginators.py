"""A paginator for the admin changelists of tables that grow to millions of rows.

Django's paginator asks `SELECT COUNT(*)` of the whole filtered queryset on every changelist page;
on PostgreSQL that is a full scan of the table (or of the index) each time. Operators only need to
know the exact count when it is small; past a cap an estimate is as useful and costs nothing.
"""

import json

from django.core.paginator import Paginator
from django.db import connections
from django.db.models import QuerySet
from django.utils.functional import cached_property


class LargeTablePaginator(Paginator):
    """Counts exactly up to `exact_count_cap` rows and estimates beyond it (PostgreSQL only).

    On PostgreSQL the count is `SELECT COUNT(*) FROM (... LIMIT cap + 1)`, which stops reading after
    cap + 1 rows. When the cap is exceeded the planner's row estimate for the same query (EXPLAIN)
    is used instead, never less than cap + 1 so the pages up to the cap are always reachable. An
    estimate that is too high leaves empty last pages; one that is too low hides the tail, which the
    filters and the date hierarchy reach anyway.

    Other databases (SQLite in development and tests) get Django's exact count.
    """

    exact_count_cap = 10_000

    @cached_property
    def count(self):
        queryset = self.object_list
        if not isinstance(queryset, QuerySet) or connections[queryset.db].vendor != "postgresql":
            return super().count
        # Ordering and select_related change neither the number of rows nor anything the count
        # needs; dropping them lets the database count from the cheapest index.
        bare = queryset.order_by().select_related(None)
        capped = bare[: self.exact_count_cap + 1].count()
        if capped <= self.exact_count_cap:
            return capped
        return max(self._planner_estimate(bare), self.exact_count_cap + 1)

    @staticmethod
    def _planner_estimate(queryset):
        plan = json.loads(queryset.explain(format="json"))
        return int(plan[0]["Plan"]["Plan Rows"])
