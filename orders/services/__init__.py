"""Orders' business operations (writes), one module per area. The POS, the API and the
admin call these; none of them writes models itself. Import each from its module (this
package re-exports nothing).

- ``carts``: opening, filling and merging carts, cart events
- ``cart_identity``: who a cart belongs to (identifying its customer, their open cart)
- ``checkout``: turning a cart into an order (the orchestration), with its steps in
  ``checkout_plan`` (what to take where), ``checkout_stock`` (selling and reserving) and
  ``checkout_persistence`` (the order, its shipments and lines)
- ``fulfilment``: pick, pack, ship, the hand-over of paid till orders; ``collect``: click &
  collect; ``cancellation``; ``edits``: line quantity, removal, relocation;
  ``order_lines``: the steps these share
- ``customers``: orders' part of a customer merge or erasure (called by crm)
- ``returns``: returns on any channel
- ``unbooked``: selling at the till what the books do not have (approved overrides)
- ``expiry``, ``retention``: unpaid orders' expiry, old carts' clean-up

Reads are in ``orders.selectors``; cart pricing in ``orders.pricing``.
"""
