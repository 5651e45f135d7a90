"""The only place the till takes row locks."""

from __future__ import annotations

from pos.models import CashMove, JournalChain, Register, RegisterSession


def journal_chain_lock(*, register_id: int | None, store_id: int | None, kind: str):
    """The chain's head row, locked FOR UPDATE until the caller's transaction ends (one
    row per chain: appends to other chains never wait). None if the chain has no head yet.
    """
    return (
        JournalChain.objects.select_for_update()
        .filter(register_id=register_id, store_id=store_id, kind=kind)
        .first()
    )


def register_lock(register_id: int) -> Register:
    """Lock a register while a session is opened on it: two tills opening it at once
    are served one after the other, and the second finds the first's session."""
    return Register.objects.select_for_update().get(pk=register_id)


def session_lock(session_id: int) -> RegisterSession:
    """Lock a session while its status changes or cash moves in it."""
    return RegisterSession.objects.select_for_update().select_related("register").get(pk=session_id)


def cash_move_lock(move_id: int) -> CashMove:
    """Lock a cash move's session, then re-read the move (its reversals are written under
    that session's lock, so what we read stays true until commit)."""
    move = CashMove.objects.get(pk=move_id)
    session_lock(move.session_id)
    return CashMove.objects.select_related("session").get(pk=move_id)
