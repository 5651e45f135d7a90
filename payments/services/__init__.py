"""Payments' writes, one module per sub-domain (reads are in ``payments.selectors``):

- ``cash``: cash at the till, and the till's hand-overs of checkout;
- ``operations``: the claim → call the gateway → record engine every gateway operation
  goes through, and the resumption of claims whose answer was lost;
- ``start``, ``capture``, ``refund``, ``void``: the operations on a payment;
- ``ledger``: what a recorded capture or refund changes, and the order's payment status;
- ``webhooks``: provider events;
- ``links``: payment links sent by SMS; ``instalments`` and ``instalment_collection``:
  instalment plans; ``returns``: settling a return; ``refund_methods``: refunds to
  another method than the payment's own;
- ``common``: the small checks the others share.
"""
