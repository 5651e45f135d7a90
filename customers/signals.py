"""Signals customers sends so apps above it (orders, payments, loyalty) can react
without customers importing them.

- ``customer_merging(sender=Customer, survivor, duplicate, user)``: sent inside the merge
  transaction, with both rows locked, *before* the rows pointing at ``duplicate`` are
  moved to ``survivor``. A receiver resolves what a plain move would break (two open
  carts, two loyalty accounts where only one is allowed…); whatever still points at the
  duplicate afterwards is moved as it is.
- ``customer_erased(sender=Customer, customer, user, customer_ids, identity)``: sent
  inside the erase transaction, after the customer row (and the rows of the customers
  once merged into it: ``customer_ids`` holds them all) was anonymised; receivers blank
  the personal data they copied (order contact snapshots, payment phones, provider
  payloads, kept API answers…) and keep what accounting needs. ``identity``
  (``customers.services.gdpr.ErasedIdentity``) says what they were known by, to find
  copies no key links to them, and scrubs a JSON value of it. Each app keeps its part
  in one function named ``<app>_customer_erase``.

Receivers must not swallow errors: an exception rolls the whole merge or erase back.
"""

from django.dispatch import Signal

customer_merging = Signal()
customer_erased = Signal()
