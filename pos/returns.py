"""A return taken at the till (issue 15): the return itself (orders'
``return_create``: restocked here, what was sold on it taken back) and its credit note in
the register's fiscal chain (``return_credit_note_record``), in one transaction. The
returns screen and the cancellation of a paid sale both record a till return this way."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from django.db import transaction

from orders.models import Order, Return
from orders.services.returns import return_create
from pos.fiscal.tickets import return_credit_note_record
from pos.models import JournalRecord, Register

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser


@transaction.atomic
def till_return_record(
    *,
    order: Order,
    register: Register,
    lines: Sequence[Mapping[str, Any]],
    outcome: str,
    user: AbstractBaseUser,
    note: str = "",
) -> tuple[Return, JournalRecord]:
    """Record goods of ``order`` brought back to this register's store (``lines`` as
    ``return_create`` takes them) and the credit note that corrects its ticket."""
    ret = return_create(
        order=order,
        channel=register.channel,
        lines=lines,
        receiving_location=register.location,
        outcome=outcome,
        user=user,
        note=note,
    )
    return ret, return_credit_note_record(ret=ret, register=register, seller_id=user.pk)
