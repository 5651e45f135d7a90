"""See inventory/services/__init__.py."""
