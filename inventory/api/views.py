"""The storefront catalog: products with prices and what each channel may sell.

It lives in inventory's API because it needs both the catalog and the stock, and
inventory is the layer that may read both (catalog never imports inventory).

Rendering is done by hand from a fixed number of queries (see ``products_payload``):
the list is the hottest read of the platform. The serializers in ``serializers.py``
document the same shape for the OpenAPI schema, and a test holds the two together.
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, generics
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.models import Product, SalesChannel, Variant
from catalog.selectors import category_paths, category_subtree_ids, channel_list, channel_prices
from inventory.api.serializers import ProductOutputSerializer, VariantStoresSerializer
from inventory.models import Location
from inventory.selectors import channel_stock, stock_at_locations, storefront_products
from unicommerce.api.errors import ErrorSerializer
from unicommerce.api.permissions import channel_of, staff_with

CatalogReaders = staff_with("catalog.view_product", allow_channels=True)
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


def products_payload(products: list[Product], *, channel: SalesChannel | None) -> list[dict]:
    """The API representation of a page of products, from a fixed number of queries
    (variants and barcodes are prefetched with the page)."""
    variants = [v for p in products for v in p.variants.all()]
    variant_ids = [v.pk for v in variants]
    channels = [channel] if channel is not None else channel_list()
    stock = channel_stock(variant_ids=variant_ids)
    overrides = channel_prices(variant_ids=variant_ids, channel_id=channel.pk) if channel else {}
    paths = category_paths() if any(p.category_id for p in products) else {}

    def variant_payload(variant: Variant) -> dict:
        price = overrides.get(variant.pk, variant.price_amount)
        by_channel = stock.get(variant.pk, {})
        return {
            "id": variant.pk,
            "sku": variant.sku,
            "barcodes": sorted(b.code for b in variant.barcodes.all()),
            "attributes": variant.attributes,
            "price": {"amount": f"{price:.2f}", "currency": variant.currency},
            "availability": {c.code: by_channel.get(c.pk, 0) for c in channels},
        }

    payload = []
    for product in products:
        path = paths.get(product.category_id, [])
        payload.append(
            {
                "id": product.pk,
                "name": product.name,
                "brand": product.brand,
                "description": product.description,
                "category": {
                    "slug": path[-1].slug,
                    "name": path[-1].name,
                    "path": [c.name for c in path],
                }
                if path
                else None,
                "vat_rate": f"{product.vat_rate:.1f}",
                "variants": [variant_payload(v) for v in product.variants.all()],
            }
        )
    return payload


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


@extend_schema(
    summary="List products with variants, prices and availability per channel",
    parameters=LIST_PARAMETERS,
    responses={200: ProductOutputSerializer(many=True), **ERRORS},
)
class ProductListView(generics.ListAPIView):
    """Active products in a stable order, 20 per page, with a cursor (`next`/`previous`).

    `availability` is what each sales channel may sell now: the sum, over the locations
    that feed the channel, of on hand − reserved − safety stock, as the stock worker
    recomputes it within a second of every change.
    """

    permission_classes = [CatalogReaders]
    serializer_class = ProductOutputSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema generator's dry run
            return Product.objects.none()
        category_ids = None
        if slug := self.request.query_params.get("category"):
            category_ids = category_subtree_ids(slug=slug)
            if category_ids is None:
                raise exceptions.ValidationError({"category": [f"No category “{slug}”."]})
        return storefront_products(
            channel=self.channel,
            category_ids=category_ids,
            in_stock=_bool(self.request, "in_stock"),
            search=self.request.query_params.get("search", ""),
        )

    def list(self, request, *args, **kwargs):
        self.channel = _channel(request)
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(products_payload(page, channel=self.channel))


@extend_schema(
    summary="One product with its variants, prices and availability",
    parameters=LIST_PARAMETERS[:1],
    responses={
        200: ProductOutputSerializer,
        404: OpenApiResponse(ErrorSerializer, description="No such product on this channel."),
        **ERRORS,
    },
)
class ProductDetailView(APIView):
    permission_classes = [CatalogReaders]

    def get(self, request, pk: int):
        channel = _channel(request)
        products = storefront_products(channel=channel).filter(pk=pk)
        product = get_object_or_404(products)
        return Response(products_payload([product], channel=channel)[0])


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

    permission_classes = [CatalogReaders]

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
