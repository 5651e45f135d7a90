"""The storefront catalog: products with prices and what each channel may sell.

It lives in inventory's API because it needs both the catalog and the stock, and
inventory is the layer that may read both (catalog never imports inventory).

The list and detail pages are rendered by PostgreSQL (``inventory/storefront.py``): the
list is the hottest read of the platform. The serializers in ``serializers.py`` document
the same shape for the OpenAPI schema, and a test holds the two together.
"""

from __future__ import annotations

import binascii
import json
from base64 import b64decode, b64encode
from collections.abc import Callable
from urllib.parse import urlencode

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.api.views import absolute_builder
from catalog.models import Variant
from catalog.selectors import category_subtree_ids
from inventory.api.serializers import ProductOutputSerializer, VariantStoresSerializer
from inventory.models import Location
from inventory.selectors import stock_at_locations
from inventory.storefront import storefront_page
from unicommerce.api.errors import ErrorSerializer
from unicommerce.api.permissions import channel_of
from unicommerce.channels.models import SalesChannel
from unicommerce.channels.selectors import channel_list
from unicommerce.converters import whole_number

JSON_RENDERER = JSONRenderer()
FAST_ACCEPT = frozenset({"*/*", "application/json"})
ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="A malformed filter or cursor."),
    401: OpenApiResponse(ErrorSerializer, description="Missing or invalid credentials."),
    403: OpenApiResponse(ErrorSerializer, description="Not allowed for this key or user."),
}


def _channel(request) -> SalesChannel | None:
    """A channel key sees its own channel; staff may ask for any with ``?channel=``."""
    own = channel_of(request)
    asked = request.query_params.get("channel")
    if own is not None:
        if asked and asked != own.code:
            raise exceptions.PermissionDenied("A channel key reads its own channel only.")
        return own
    if not asked:
        return None
    channel = SalesChannel.objects.filter(code=asked, is_active=True).first()
    if channel is None:
        raise exceptions.ValidationError({"channel": [f"No active sales channel “{asked}”."]})
    return channel


def _bool(request, name: str) -> bool | None:
    value = request.query_params.get(name)
    if value is None or value == "":
        return None
    if value.lower() in {"true", "1", "yes"}:
        return True
    if value.lower() in {"false", "0", "no"}:
        return False
    raise exceptions.ValidationError({name: ["Use true or false."]})


LIST_PARAMETERS = [
    OpenApiParameter(
        "channel",
        str,
        description="Sales channel code: only products published "
        "there, with its prices and sellable quantities (a channel key: its own).",
    ),
    OpenApiParameter("category", str, description="Category slug; includes sub-categories."),
    OpenApiParameter(
        "in_stock",
        OpenApiTypes.BOOL,
        description="Only products with (true) or "
        "without (false) a variant sellable on the channel (or on any channel).",
    ),
    OpenApiParameter("search", str, description="A word of the name, or an exact SKU or barcode."),
    OpenApiParameter("page_size", int, description="1 to 100 (default 20)."),
]


def _page_size(request) -> int:
    raw = request.query_params.get("page_size", "")
    if not raw:
        return 20
    size = whole_number(raw, minimum=1)
    if size is None:
        raise exceptions.ValidationError({"page_size": ["A whole number from 1 to 100."]})
    return min(size, 100)


def _cursor(request) -> tuple[int | None, int | None]:
    """(after, before) from the opaque ``cursor`` of a ``next``/``previous`` link."""
    raw = request.query_params.get("cursor")
    if not raw:
        return None, None
    try:
        kind, value = b64decode(raw, validate=True).decode().split("=", 1)
        position = int(value)
    except (ValueError, UnicodeDecodeError, binascii.Error):
        position, kind = None, ""
    if kind not in {"a", "b"} or position is None:
        raise exceptions.ValidationError(
            {"cursor": ["This cursor is not valid; use `next`/`previous`."]}
        )
    return (position, None) if kind == "a" else (None, position)


def _links(request) -> Callable[[str, int], str]:
    """``link(kind, position)``: this URL with its ``cursor`` set, byte for byte what
    ``QueryDict.copy()``, ``["cursor"] = …`` and ``urlencode()`` give (the cursor where
    it was, else last), with the host checked and the other parameters encoded once."""
    prefix = f"{request.scheme}://{request.get_host()}{request.path}?"
    encoding = request.GET.encoding
    pieces: list[str] = []
    cursor_at = None
    for key, values in request.GET.lists():
        if key == "cursor":
            cursor_at = len(pieces)
            pieces.append("")
            continue
        pieces.extend(urlencode({key.encode(encoding): str(v).encode(encoding)}) for v in values)
    if cursor_at is None:
        cursor_at = len(pieces)
        pieces.append("")

    def link(kind: str, position: int) -> str:
        query = pieces.copy()
        query[cursor_at] = urlencode({b"cursor": b64encode(f"{kind}={position}".encode())})
        return prefix + "&".join(query)

    return link


def _filters(request) -> dict:
    category_ids = None
    if slug := request.query_params.get("category"):
        category_ids = category_subtree_ids(slug=slug)
        if category_ids is None:
            raise exceptions.ValidationError({"category": [f"No category “{slug}”."]})
    return {
        "category_ids": category_ids,
        "in_stock": _bool(request, "in_stock"),
        "search": request.query_params.get("search", ""),
    }


class JsonNegotiation(DefaultContentNegotiation):
    """What every storefront call asks for (no ``Accept``, ``*/*`` or JSON, no
    ``?format=``) gets the JSON renderer without parsing media types; the rest is
    negotiated as usual (an unsupported ``Accept`` is still a 406)."""

    def select_renderer(self, request, renderers, format_suffix=None):
        accept = request.META.get("HTTP_ACCEPT", "*/*")
        if (
            accept in FAST_ACCEPT
            and not format_suffix
            and renderers[0].media_type == "application/json"
            and self.settings.URL_FORMAT_OVERRIDE not in request.query_params
        ):
            return renderers[0], renderers[0].media_type
        return super().select_renderer(request, renderers, format_suffix)


class ProductPageSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True, help_text="The following page, if any.")
    previous = serializers.URLField(allow_null=True, help_text="The page before, if any.")
    results = ProductOutputSerializer(many=True)


class ProductListView(APIView):
    """Active products in a stable order, 20 per page, with a cursor (`next`/`previous`).

    `availability` is what each sales channel may sell now: the sum, over the locations
    that feed the channel, of on hand − reserved − safety stock, as the stock worker
    recomputes it within a second of every change.
    """

    content_negotiation_class = JsonNegotiation

    @extend_schema(
        summary="List products with variants, prices and availability per channel",
        operation_id="products_list",
        parameters=[*LIST_PARAMETERS, OpenApiParameter("cursor", str, description="From a link.")],
        responses={200: ProductPageSerializer, **ERRORS},
    )
    def get(self, request):
        channel = _channel(request)
        after, before = _cursor(request)
        page = storefront_page(
            channels=[channel] if channel is not None else channel_list(),
            channel=channel,
            after=after,
            before=before,
            limit=_page_size(request),
            absolute=absolute_builder(request),
            **_filters(request),
        )
        link = _links(request)
        next_link = previous_link = None
        if before is not None:  # read backwards: what follows is where we came from
            next_link = link("a", page.last_id) if page.last_id else None
            if page.more_after:
                previous_link = link("b", page.first_id)
        else:
            if page.more_after:
                next_link = link("a", page.last_id)
            if after is not None:
                previous_link = link("b", page.first_id or after + 1)
        body = (
            f'{{"next": {json.dumps(next_link)}, "previous": {json.dumps(previous_link)}, '
            f'"results": {page.results_json}}}'
        )
        return HttpResponse(body, content_type="application/json")


class ProductDetailView(APIView):
    content_negotiation_class = JsonNegotiation

    @extend_schema(
        summary="One product with its variants, prices and availability",
        operation_id="products_retrieve",
        parameters=LIST_PARAMETERS[:1],
        responses={
            200: ProductOutputSerializer,
            404: OpenApiResponse(ErrorSerializer, description="No such product on this channel."),
            **ERRORS,
        },
    )
    def get(self, request, pk: int):
        channel = _channel(request)
        page = storefront_page(
            channels=[channel] if channel is not None else channel_list(),
            channel=channel,
            product_ids=[pk],
            limit=1,
            absolute=absolute_builder(request),
        )
        if not page.count:
            raise exceptions.NotFound("No such product on this channel.")
        return HttpResponse(page.results_json[1:-1], content_type="application/json")


@extend_schema(
    summary="Which stores have this variant, and how many are available in each",
    parameters=[
        OpenApiParameter("in_stock", OpenApiTypes.BOOL, description="Only stores with units.")
    ],
    responses={
        200: VariantStoresSerializer,
        404: OpenApiResponse(ErrorSerializer, description="No active variant with this SKU."),
        **ERRORS,
    },
)
class VariantStoresView(APIView):
    """Live figures (not the worker's): what a customer would find in each store now,
    for click & collect or "is it in my store?"."""

    def get(self, request, sku: str):
        variant = Variant.objects.filter(sku__iexact=sku, is_active=True).first()
        if variant is None:
            raise exceptions.NotFound(f"No active variant with the SKU “{sku}”.")
        only_in_stock = _bool(request, "in_stock")
        stores = [
            {
                "location": level.location.code,
                "name": level.location.name,
                "city": level.location.city,
                "kind": level.location.kind,
                "available": level.available_now,
            }
            for level in stock_at_locations(variant_id=variant.pk)
            if level.location.kind == Location.Kind.STORE
        ]
        known = {store["location"] for store in stores}
        stores += [
            {
                "location": loc.code,
                "name": loc.name,
                "city": loc.city,
                "kind": loc.kind,
                "available": 0,
            }
            for loc in Location.objects.filter(kind=Location.Kind.STORE, is_active=True)
            if loc.code not in known
        ]
        if only_in_stock:
            stores = [s for s in stores if s["available"] > 0]
        stores.sort(key=lambda s: (-s["available"], s["name"]))
        return Response({"sku": variant.sku, "stores": stores})
