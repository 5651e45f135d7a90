"""The till's tables, one module per sub-domain: registers; their sessions and cash
(issue 15); (later) the fiscal journal."""

from pos.models.registers import Register
from pos.models.sessions import CashMove, RegisterSession, SessionCount, ZReport

__all__ = ["CashMove", "Register", "RegisterSession", "SessionCount", "ZReport"]
