"""Staff API for transfers (see inventory/api/urls.py)."""

urlpatterns: list = []
