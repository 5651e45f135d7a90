"""Shapes of the catalog's own API operations (pictures); the storefront's product
payloads in ``inventory/api/serializers.py`` reuse the picture's."""

from django.conf import settings
from rest_framework import serializers


class ImageOutputSerializer(serializers.Serializer):
    url = serializers.URLField(help_text="The original picture.")
    alt = serializers.CharField(allow_blank=True, help_text="What it shows (for `alt=`).")
    variant = serializers.IntegerField(
        allow_null=True, help_text="The variant it shows (its id), or null for the product."
    )
    width = serializers.IntegerField(help_text="Of the original, in pixels.")
    height = serializers.IntegerField(help_text="Of the original, in pixels.")
    sizes = serializers.DictField(
        child=serializers.URLField(),
        help_text="A picture per width (`160`, `480`, `1024`): the thumbnail, or the "
        "original while thumbnails are being made or when it is no wider.",
    )
    srcset = serializers.CharField(
        help_text="For `<img srcset>`: each distinct picture once, with its width "
        "(`… 160w, … 480w, … 1024w`)."
    )


class ImageInputSerializer(serializers.Serializer):
    # A plain file field: catalog.images decides what a picture is, with one message.
    image = serializers.FileField(
        help_text=f"JPEG, PNG or WebP, at most {settings.PRODUCT_IMAGE_MAX_BYTES // 1_048_576}"
        f" MB and {settings.PRODUCT_IMAGE_MAX_PIXELS // 1_000_000} million pixels."
    )
    alt = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default="", help_text="What it shows."
    )
    variant = serializers.CharField(
        max_length=64,
        required=False,
        allow_blank=True,
        default="",
        help_text="The SKU of one of the product's variants, when the picture shows it only.",
    )
    position = serializers.IntegerField(
        min_value=0,
        max_value=100_000,
        required=False,
        allow_null=True,
        default=None,
        help_text="Its place among the product's pictures (default: last).",
    )
