"""Admin for this sub-domain (see inventory/admin/__init__.py)."""
