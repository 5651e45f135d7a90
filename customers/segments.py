"""The customer segments kept on ``Customer`` (``behaviour``, ``rfm_*``): their names,
labels and rules. The figures are computed from orders by
``crm.services.figures.customer_figures_refresh`` (crm sits above customers); this
module only says what the values mean, so the admin can filter and label them.

**RFM scores** (1 to 5), among live customers with at least one counted order:

- R (recency): rank of the last purchase date; the most recent fifth scores 5.
- F (frequency): rank of the number of orders.
- M (monetary): rank of the lifetime value.

A score is ``1 + floor(5 × percent_rank)`` capped at 5: equal values share the lower
score, so the many customers with one order all get F = 1.

**RFM segments**, the first rule that matches wins:

============== =============================================== ==========================
segment        rule                                            meaning
============== =============================================== ==========================
champions      R ≥ 4 and F ≥ 4 and M ≥ 4                       buy often, lately, a lot
loyal          F ≥ 4 and R ≥ 3                                 buy often
new            one order and R ≥ 4                             first purchase lately
promising      R ≥ 4                                           recent, not yet frequent
at_risk        R ≤ 2 and (F ≥ 3 or M ≥ 4)                      were good, gone quiet
hibernating    R ≤ 2                                           little, long ago
need_attention everything else (R = 3)                         average, slipping
============== =============================================== ==========================

**Channel behaviour**: ``online_only`` when every counted order was placed, and its cart
filled, on non-store channels (web, app, marketplace); ``store_only`` when all of them
were on store channels; ``omnichannel`` otherwise (an order filled online and finished in
a store counts for both); ``none`` without counted orders.

Counted orders: not cancelled. Lifetime value: their totals minus their returns.
"""

from django.utils.translation import gettext_lazy as _


class RfmSegment:
    CHAMPIONS = "champions"
    LOYAL = "loyal"
    NEW = "new"
    PROMISING = "promising"
    AT_RISK = "at_risk"
    HIBERNATING = "hibernating"
    NEED_ATTENTION = "need_attention"

    choices = [
        (CHAMPIONS, _("champions")),
        (LOYAL, _("loyal")),
        (NEW, _("new")),
        (PROMISING, _("promising")),
        (AT_RISK, _("at risk")),
        (HIBERNATING, _("hibernating")),
        (NEED_ATTENTION, _("need attention")),
    ]

    # (segment, SQL condition on r, f, m and n = the order count), in order.
    rules = [
        (CHAMPIONS, "r >= 4 AND f >= 4 AND m >= 4"),
        (LOYAL, "f >= 4 AND r >= 3"),
        (NEW, "n = 1 AND r >= 4"),
        (PROMISING, "r >= 4"),
        (AT_RISK, "r <= 2 AND (f >= 3 OR m >= 4)"),
        (HIBERNATING, "r <= 2"),
        (NEED_ATTENTION, "TRUE"),
    ]

    @classmethod
    def label(cls, value: str) -> str:
        return str(dict(cls.choices).get(value, value))
