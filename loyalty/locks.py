"""The only place loyalty takes row locks. Call inside ``transaction.atomic()``: the
querysets are evaluated here, so the lock is really taken."""

from __future__ import annotations

from loyalty.models import GiftCard


def gift_card_lock(card_id: int) -> GiftCard:
    """The gift card row, re-read under a lock (``GiftCard.DoesNotExist`` if gone): every
    movement of one card waits here, so two tills spending its last balance run one
    after the other and the second sees the first's row."""
    return GiftCard.objects.select_for_update().get(pk=card_id)
