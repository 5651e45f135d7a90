"""Who may call what: the principals, the one permission table, and its enforcement in
the REST API (``unicommerce.access.drf``) and the POS (``unicommerce.access.pos``).

Every API view and every POS action is an *operation* named in ``table.TABLE``; a request
for an operation that is not there is refused, whoever asks (a test walks every URL
pattern against every principal, generated from the table). docs/permissions.md is
generated from the same table (``manage.py permissions_doc``).
"""
