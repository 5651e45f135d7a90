"""The catalog's own API operations: a product's pictures (docs/media.md)."""

from __future__ import annotations

from collections.abc import Callable

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.api.serializers import ImageInputSerializer, ImageOutputSerializer
from catalog.images import image_payload, product_image_add
from catalog.models import Product, Variant
from unicommerce.api.errors import ErrorSerializer
from unicommerce.api.idempotency import PARAMETER as IDEMPOTENCY_KEY
from unicommerce.api.idempotency import idempotent
from unicommerce.api.permissions import acting_user


def absolute_builder(request) -> Callable[[str], str]:
    """The storage's relative addresses (a folder's ``/media/…``) made absolute on this
    host; absolute ones (S3, a CDN) as they are."""

    def absolute(url: str) -> str:
        if url.startswith("/") and not url.startswith("//"):
            return f"{request.scheme}://{request.get_host()}{url}"
        return url

    return absolute


class ProductImageCreateView(APIView):
    parser_classes = [MultiPartParser]

    @extend_schema(
        summary="Add a picture to a product (or to one of its variants)",
        description="Multipart upload. The picture is checked before anything is stored "
        "(a JPEG, PNG or WebP that decodes, within the size and pixel caps); thumbnails "
        "are made by a worker after the commit, the original standing in until then. "
        "Retrying with the same Idempotency-Key and the same form answers the first "
        "result without storing the file twice.",
        operation_id="products_images_create",
        request={"multipart/form-data": ImageInputSerializer},
        parameters=[IDEMPOTENCY_KEY],
        responses={
            201: ImageOutputSerializer,
            400: OpenApiResponse(
                ErrorSerializer,
                description="Not a picture we keep (`invalid_image`, with a `reason`), a "
                "variant of another product, or a malformed field.",
            ),
            401: OpenApiResponse(ErrorSerializer, description="Missing or invalid credentials."),
            403: OpenApiResponse(ErrorSerializer, description="Not allowed for this key or user."),
            404: OpenApiResponse(ErrorSerializer, description="No such product."),
            422: OpenApiResponse(
                ErrorSerializer, description="The Idempotency-Key was used for another request."
            ),
        },
    )
    @idempotent
    def post(self, request, pk: int):
        product = Product.objects.filter(pk=pk).first()
        if product is None:
            raise exceptions.NotFound(_("No such product."))
        data = ImageInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        variant = None
        if sku := fields["variant"].strip():
            variant = Variant.objects.filter(sku__iexact=sku).first()
            if variant is None:
                raise exceptions.ValidationError({"variant": [_("No variant has this SKU.")]})
        image = product_image_add(
            product=product,
            file=fields["image"],
            variant=variant,
            alt=fields["alt"],
            position=fields["position"],
            user=acting_user(request),
        )
        payload = image_payload(
            name=image.image.name,
            thumbnails=image.thumbnails,
            width=image.width,
            height=image.height,
            alt=image.alt,
            variant=image.variant_id,
            absolute=absolute_builder(request),
        )
        return Response(payload, status=status.HTTP_201_CREATED)
