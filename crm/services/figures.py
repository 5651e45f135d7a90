"""The figures crm keeps on each customer row, behind the admin's columns and segments:
``order_count``, ``lifetime_value``, ``last_purchase_at``, ``preferred_channel``,
``behaviour`` and the RFM scores and segment (rules in ``customers.segments``).

``customer_figures_refresh`` computes them in three set-based statements, for some
customers or all: after each order (``crm.events``, without the RFM quintiles), after a
merge, and for everyone every night (the Celery task ``orders.customer_figures_refresh``,
in ``crm.tasks``; the name stays what the beat schedule and queued messages know).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import connection, transaction

from customers.models import Customer
from customers.segments import RfmSegment
from orders.models import Order, Return
from unicommerce.channels.models import SalesChannel

if TYPE_CHECKING:
    from collections.abc import Iterable

_FIGURES_SQL = """
WITH counted AS (
    SELECT o.id, o.customer_id, o.channel_id, o.created_at,
           o.total_amount - COALESCE(
               (SELECT sum(r.amount) FROM {return_table} r WHERE r.order_id = o.id), 0
           ) AS net_amount,
           ch.kind = 'store' OR och.kind = 'store' AS in_store,
           ch.kind <> 'store' OR och.kind <> 'store' AS online
      FROM {order_table} o
      JOIN {channel_table} ch ON ch.id = o.channel_id
      LEFT JOIN {channel_table} och ON och.id = o.origin_channel_id
     WHERE o.customer_id IS NOT NULL AND o.status <> 'cancelled' {order_filter}
),
totals AS (
    SELECT customer_id, count(*) AS n, GREATEST(sum(net_amount), 0) AS ltv,
           max(created_at) AS last_at, bool_or(in_store) AS in_store, bool_or(online) AS online
      FROM counted GROUP BY customer_id
),
preferred AS (
    SELECT DISTINCT ON (customer_id) customer_id, channel_id
      FROM counted
     GROUP BY customer_id, channel_id
     ORDER BY customer_id, count(*) DESC, max(created_at) DESC, channel_id
),
computed AS (
    SELECT c.id,
           COALESCE(t.n, 0) AS n,
           COALESCE(t.ltv, 0) AS ltv,
           t.last_at,
           p.channel_id AS preferred_id,
           CASE WHEN t.n IS NULL THEN 'none'
                WHEN t.in_store AND t.online THEN 'omnichannel'
                WHEN t.in_store THEN 'store_only'
                ELSE 'online_only' END AS behaviour
      FROM {customer_table} c
      LEFT JOIN totals t ON t.customer_id = c.id
      LEFT JOIN preferred p ON p.customer_id = c.id
     WHERE TRUE {customer_filter}
)
UPDATE {customer_table} c
   SET order_count = x.n, lifetime_value = x.ltv, last_purchase_at = x.last_at,
       preferred_channel_id = x.preferred_id, behaviour = x.behaviour,
       figures_updated_at = statement_timestamp()
  FROM computed x
 WHERE c.id = x.id
"""

_RFM_SQL = """
WITH ranked AS (
    SELECT id, order_count AS n,
           LEAST(5, 1 + floor(5 * percent_rank() OVER (ORDER BY last_purchase_at)))::int AS r,
           LEAST(5, 1 + floor(5 * percent_rank() OVER (ORDER BY order_count)))::int AS f,
           LEAST(5, 1 + floor(5 * percent_rank() OVER (ORDER BY lifetime_value)))::int AS m
      FROM {customer_table}
     WHERE order_count > 0 AND merged_into_id IS NULL AND erased_at IS NULL
),
segmented AS (
    SELECT id, r, f, m, CASE {segment_cases} END AS segment FROM ranked
)
UPDATE {customer_table} c
   SET rfm_recency = s.r, rfm_frequency = s.f, rfm_monetary = s.m, rfm_segment = s.segment
  FROM segmented s
 WHERE c.id = s.id
   AND (c.rfm_recency, c.rfm_frequency, c.rfm_monetary, c.rfm_segment)
       IS DISTINCT FROM (s.r, s.f, s.m, s.segment)
"""

_RFM_CLEAR_SQL = """
UPDATE {customer_table}
   SET rfm_recency = NULL, rfm_frequency = NULL, rfm_monetary = NULL, rfm_segment = ''
 WHERE (order_count = 0 OR merged_into_id IS NOT NULL OR erased_at IS NOT NULL)
   AND (rfm_recency IS NOT NULL OR rfm_segment <> '')
"""


def _tables() -> dict[str, str]:
    return {
        "customer_table": Customer._meta.db_table,
        "order_table": Order._meta.db_table,
        "return_table": Return._meta.db_table,
        "channel_table": SalesChannel._meta.db_table,
    }


def _segment_cases() -> str:
    return " ".join(f"WHEN {condition} THEN '{name}'" for name, condition in RfmSegment.rules)


def customer_figures_refresh(*, customer_ids: Iterable[int] | None = None, rfm: bool = True) -> int:
    """Recompute the figures of ``customer_ids`` (all customers when None), then the RFM
    scores and segments of everyone (quintiles are relative, so one customer's new order
    can move others; ``rfm=False`` leaves them to the nightly run). Returns how many
    customers' figures were written.

    Three statements, whatever the number of customers: figures (one UPDATE … FROM an
    aggregate), RFM scores with window functions, and clearing the scores of customers
    without counted orders. Rules: ``customers.segments``.
    """
    tables = _tables()
    params: list[Any] = []
    order_filter = customer_filter = ""
    if customer_ids is not None:
        ids = sorted({int(pk) for pk in customer_ids})
        if not ids:
            return 0
        order_filter = "AND o.customer_id = ANY(%s)"
        customer_filter = "AND c.id = ANY(%s)"
        params = [ids, ids]
    figures_sql = _FIGURES_SQL.format(
        **tables, order_filter=order_filter, customer_filter=customer_filter
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(figures_sql, params)
        written = cursor.rowcount
        if rfm:
            cursor.execute(_RFM_SQL.format(**tables, segment_cases=_segment_cases()))
            cursor.execute(_RFM_CLEAR_SQL.format(**tables))
    return written
