"""Sales channels and the API keys that act for them (or for a member of staff).

The bottom of the domain: the catalog, stock, customers, orders, payments, the POS and
the webhooks all point at a channel, and every API package authenticates a key; none of
that may make the infrastructure depend on the catalog. The tables keep their historical
names (``catalog_saleschannel``, ``catalog_apikey``).
"""
