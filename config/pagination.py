"""A paginator that never counts a whole large table.

The admin's paginator runs ``COUNT(*)`` over the filtered queryset on every
page load; at a million cases that is the slowest query of the page. This one
counts at most ``cap + 1`` rows (``SELECT COUNT(*) FROM (… LIMIT cap+1)``), so
the cost is bounded whatever the table size; beyond the cap the page says
"more than N" and the user narrows the search or the filters.
"""

from __future__ import annotations

from django.core.paginator import Paginator
from django.utils.functional import cached_property


class CappedCountPaginator(Paginator):
    cap = 10_000

    @cached_property
    def _counted(self) -> int:
        try:
            return self.object_list.order_by()[: self.cap + 1].count()
        except (AttributeError, TypeError):  # a list, not a queryset
            return len(self.object_list)

    @cached_property
    def count(self) -> int:
        return min(self._counted, self.cap)

    @property
    def is_capped(self) -> bool:
        return self._counted > self.cap


class CappedCountAdminMixin:
    """For ModelAdmins of big tables: bounded counts, no full-table count either."""

    paginator = CappedCountPaginator
    show_full_result_count = False
