"""crm's writes, one module per area:

- ``merging``: ``customer_merge``, two customers made one, every app taking its part
- ``erasure``: ``customer_erase``, the right to erasure, every app blanking its copies
- ``links``: which function looks after each model that points at a customer
- ``figures``: ``customer_figures_refresh``, the order figures and RFM segments
"""
