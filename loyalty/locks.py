"""Loyalty's row locks, always in primary-key order and evaluated inside the caller's
atomic block (an unevaluated ``select_for_update`` takes no lock).

Vouchers: the campaigns' rows first, then the codes' rows. Every writer of the usage
counters (``vouchers_use``, ``vouchers_release``) takes them in that order, so two
orders using overlapping codes wait for each other and never deadlock.

Gift cards: one card's row; every movement of a card waits on it.
"""

from __future__ import annotations

from collections.abc import Iterable

from loyalty.models import GiftCard, Promotion, VoucherCode


def promotions_lock(promotion_ids: Iterable[int]) -> dict[int, Promotion]:
    """The campaigns' rows, re-read under a lock, by primary key."""
    rows = Promotion.objects.select_for_update().filter(pk__in=sorted(set(promotion_ids)))
    return {row.pk: row for row in rows.order_by("pk")}


def voucher_codes_lock(code_ids: Iterable[int]) -> dict[int, VoucherCode]:
    """The codes' rows, re-read under a lock, by primary key (lock their campaigns
    first)."""
    rows = VoucherCode.objects.select_for_update().filter(pk__in=sorted(set(code_ids)))
    return {row.pk: row for row in rows.order_by("pk")}


def gift_card_lock(card_id: int) -> GiftCard:
    """The gift card row, re-read under a lock (``GiftCard.DoesNotExist`` if gone): every
    movement of one card waits here, so two tills spending its last balance run one
    after the other and the second sees the first's row."""
    return GiftCard.objects.select_for_update().get(pk=card_id)
