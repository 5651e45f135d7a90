"""The only place the till takes row locks."""

from __future__ import annotations

from pos.models import JournalChain


def journal_chain_lock(*, register_id: int | None, store_id: int | None, kind: str):
    """The chain's head row, locked FOR UPDATE until the caller's transaction ends (one
    row per chain: appends to other chains never wait). None if the chain has no head yet.
    """
    return (
        JournalChain.objects.select_for_update()
        .filter(register_id=register_id, store_id=store_id, kind=kind)
        .first()
    )
