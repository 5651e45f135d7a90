from django.db import connection
from django.http import HttpResponse
from django.urls import include, path


def one_query(request):
    """The ceiling: the cheapest view that still does one database round trip."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return HttpResponse(b'{"ok": true}', content_type="application/json")


urlpatterns = [
    path("bench/one-query", one_query),
    path("", include("unicommerce.urls")),
]
