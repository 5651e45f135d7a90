"""The storefront catalog: products joined with live stock per channel.

It lives in inventory's API because it needs both the catalog and the stock, and
inventory is the layer that may read both (catalog never imports inventory).
"""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics

from catalog.selectors import channel_list, product_list
from inventory.api.serializers import ProductOutputSerializer
from inventory.selectors import channel_availability
from unicommerce.api.errors import ErrorSerializer


@extend_schema(
    summary="List products with variants, prices and availability per channel",
    responses={
        200: ProductOutputSerializer(many=True),
        401: OpenApiResponse(ErrorSerializer, description="Missing or invalid credentials."),
        400: OpenApiResponse(ErrorSerializer, description="Malformed cursor or page size."),
    },
)
class ProductListView(generics.ListAPIView):
    """Active products, 20 per page (``?page_size=`` up to 100), in a stable order.

    ``availability`` is what each sales channel may sell now: the sum over the locations
    that feed it of on hand − reserved − safety stock.
    """

    serializer_class = ProductOutputSerializer

    def get_queryset(self):
        return product_list()

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        variant_ids = [v.pk for product in page for v in product.variants.all()]
        context = self.get_serializer_context()
        context["availability"] = channel_availability(variant_ids=variant_ids)
        context["channel_codes"] = [c.code for c in channel_list()]
        serializer = self.serializer_class(page, many=True, context=context)
        return self.get_paginated_response(serializer.data)
