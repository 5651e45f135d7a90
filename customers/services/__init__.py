"""Customers' business operations, one module per area. The admin, the API, the POS and
the apps above customers call these; none of them writes customer models itself.

- ``identity``: recognise or create a customer from an email and/or a phone
- ``profile``: consents (append-only), addresses, notes, tags, names and contact details
- ``merging``: customers' part of a merge
- ``gdpr``: customers' part of the GDPR export and of an erasure (anonymisation)

Merging, erasing and exporting a customer involve every app: crm orchestrates them
(``crm.services``, ``crm.selectors``) and calls the parts here first.

Reads (a customer by contact details, consents, possible duplicates) are in
``customers.selectors``; sign-in codes and customer tokens in ``customers.auth``.
"""
