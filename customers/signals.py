"""Signals customers sends so apps above it (orders, payments, loyalty) can react
without customers importing them.

- ``customer_merging(sender=Customer, survivor, duplicate, user)``: sent inside the merge
  transaction, with both rows locked, *before* the rows pointing at ``duplicate`` are
  moved to ``survivor``. A receiver resolves what a plain move would break (two open
  carts, two loyalty accounts where only one is allowed…); whatever still points at the
  duplicate afterwards is moved as it is.
- ``customer_erased(sender=Customer, customer, user)``: sent inside the erase
  transaction, after the customer row was anonymised; receivers blank the personal data
  they copied (order contact snapshots…) and keep what accounting needs.

Receivers must not swallow errors: an exception rolls the whole merge or erase back.
"""

from django.dispatch import Signal

customer_merging = Signal()
customer_erased = Signal()
