from django.db import connection
from django.http import HttpResponse
from django.urls import include, path

from unicommerce.access.table import EVERYONE, TABLE, rule


def one_query(request):
    """The ceiling: the cheapest view that still does one database round trip."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return HttpResponse(b'{"ok": true}', content_type="application/json")


# Like every view, the ceiling has its line in the permission table (open to anyone),
# so it goes through the same checks as the views it is the ceiling of.
TABLE["bench-one-query GET"] = rule(*EVERYONE)

urlpatterns = [
    path("bench/one-query", one_query, name="bench-one-query"),
    path("", include("unicommerce.urls")),
]
