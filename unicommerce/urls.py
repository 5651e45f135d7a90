from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from unicommerce.api.errors import json_not_found
from unicommerce.media import media_serve
from unicommerce.views import favicon, healthz

api_v1 = [
    path("", include("catalog.api.urls")),
    path("", include("inventory.api.urls")),
    path("", include("customers.api.urls")),
    path("", include("orders.api.urls")),
    path("", include("payments.api.urls")),
    path("", include("loyalty.api.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("webhooks/", include("unicommerce.webhooks.urls")),
    re_path(r"^.*$", json_not_found, name="api-not-found"),
]

# Under /api/ these answer the API's JSON error shape; elsewhere, Django's own pages.
handler400 = "unicommerce.api.errors.bad_request"
handler403 = "unicommerce.api.errors.permission_denied"
handler404 = "unicommerce.api.errors.page_not_found"
handler500 = "unicommerce.api.errors.server_error"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("favicon.ico", favicon, name="favicon"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("pos/", include("pos.urls")),
    path("payments/", include("payments.api.webhook_urls")),
    path("pay/", include("payments.web.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("unicommerce.home_urls")),
]

if settings.SERVE_MEDIA and not settings.MEDIA_URL.startswith(("http://", "https://", "//")):
    # Product images from the storage, where nothing else serves them (docs/media.md).
    urlpatterns.insert(
        -1, path(f"{settings.MEDIA_URL.strip('/')}/<path:path>", media_serve, name="media")
    )
