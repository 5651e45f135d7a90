"""Product images: checked before anything is stored, thumbnails made after commit by a
worker, every address asked of the storage (``storage.url()``, never a path on disk), so
S3-compatible storage works exactly as the development folder does (docs/media.md).

The rules of an acceptable picture live here, once (``image_check``): the admin's form,
the services and any API call it. The services below are the only writers of
``ProductImage`` rows and of their files.
"""

from __future__ import annotations

import logging
import secrets
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from io import BytesIO
from pathlib import PurePosixPath
from typing import IO, TYPE_CHECKING

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _
from PIL import Image, ImageOps

from catalog.exceptions import InvalidImage, VariantOfAnotherProduct
from catalog.models import CatalogChange, Product, ProductImage, Variant

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser
    from django.core.files.storage import Storage

logger = logging.getLogger(__name__)

# What we keep, and the extension a stored original gets (from its content, not its name).
FORMATS = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp"}
THUMBNAIL_FORMAT, THUMBNAIL_SUFFIX = "WEBP", ".webp"
EXIF_ORIENTATION = 0x0112
ROTATED = {5, 6, 7, 8}  # EXIF orientations that swap width and height


@dataclass(frozen=True)
class ImageFacts:
    format: str
    width: int  # as shown (EXIF orientation applied)
    height: int

    @property
    def suffix(self) -> str:
        return FORMATS[self.format]


def _size_of(file: IO[bytes]) -> int:
    size = getattr(file, "size", None)
    if size is None:
        file.seek(0, 2)
        size = file.tell()
    return int(size)


def image_check(file: IO[bytes]) -> ImageFacts:
    """What the file is, or ``InvalidImage``: a JPEG, PNG or WebP picture that decodes
    entirely, at most ``PRODUCT_IMAGE_MAX_BYTES`` long and ``PRODUCT_IMAGE_MAX_PIXELS``
    big (read from the header, before any pixel is decoded: a decompression bomb is a
    few kilobytes on disk and gigabytes in memory)."""
    size = _size_of(file)
    limit = settings.PRODUCT_IMAGE_MAX_BYTES
    if size > limit:
        raise InvalidImage(
            _("This file is %(size)s MB; a picture may be %(limit)s MB at most.")
            % {"size": f"{size / 1_048_576:.1f}", "limit": f"{limit / 1_048_576:g}"},
            reason="too_large",
        )
    not_an_image = InvalidImage(
        _("This file is not a JPEG, PNG or WebP picture (or it is damaged)."),
        reason="not_an_image",
    )
    if size == 0:
        raise not_an_image
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            file.seek(0)
            with Image.open(file, formats=list(FORMATS)) as probe:
                image_format, (width, height) = probe.format, probe.size
                _pixels_check(width, height)
                probe.verify()  # the structure (checksums of PNG chunks…)
            file.seek(0)
            with Image.open(file, formats=list(FORMATS)) as picture:
                orientation = picture.getexif().get(EXIF_ORIENTATION, 1)
                picture.load()  # every pixel decodes: a truncated file is refused here
    except InvalidImage:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_many_pixels() from None
    except Exception:  # whatever a damaged or hostile file makes a decoder raise
        raise not_an_image from None
    finally:
        file.seek(0)
    if image_format not in FORMATS:
        raise not_an_image
    if orientation in ROTATED:
        width, height = height, width
    return ImageFacts(format=image_format, width=width, height=height)


def _too_many_pixels() -> InvalidImage:
    return InvalidImage(
        _("This picture has too many pixels (at most %(megapixels)s million).")
        % {"megapixels": f"{settings.PRODUCT_IMAGE_MAX_PIXELS / 1_000_000:g}"},
        reason="too_many_pixels",
    )


def _pixels_check(width: int, height: int) -> None:
    if width * height > settings.PRODUCT_IMAGE_MAX_PIXELS:
        raise _too_many_pixels()


def _variant_check(product: Product, variant: Variant | None) -> None:
    if variant is not None and variant.product_id != product.pk:
        raise VariantOfAnotherProduct(variant.sku, product.pk)


def _storage() -> Storage:
    return ProductImage._meta.get_field("image").storage


def _record(product: Product, user, change: dict, variant: Variant | None = None) -> None:
    CatalogChange.objects.create(
        product=product,
        variant=variant,
        kind=CatalogChange.Kind.IMAGES,
        changes=change,
        created_by=user if getattr(user, "is_authenticated", False) else None,
    )


def _files_delete(names: list[str]) -> None:
    """After commit: the files of a picture that is gone or was replaced."""
    storage = _storage()
    for name in names:
        try:
            storage.delete(name)
        except Exception:
            logger.warning("could not delete the stored file %s", name, exc_info=True)


def _store(image: ProductImage, file: IO[bytes], facts: ImageFacts) -> None:
    """Write the original through the storage under a random name (``upload_to``)."""
    image.width, image.height = facts.width, facts.height
    image.thumbnails, image.thumbnails_made_at = {}, None
    image.image.save(f"image{facts.suffix}", file, save=False)


def _after_commit(image_id: int, *, thumbnails_now: bool) -> None:
    """Thumbnails once the picture's row is committed: in this process (``thumbnails_now``,
    the demo load) or by a worker; never inside the transaction that inserts it (reading
    and writing files there would hold it open for the time of the resizing)."""
    if thumbnails_now:
        transaction.on_commit(partial(product_image_thumbnails_make, image_id=image_id))
    else:
        transaction.on_commit(partial(thumbnails_enqueue, image_id))


def thumbnails_enqueue(image_id: int) -> None:
    """Hand the picture to a worker. If the broker is down, the original is served and
    the admin's "make missing thumbnails" queues it again."""
    from catalog.tasks import image_thumbnails_task

    try:
        image_thumbnails_task.apply_async(args=[image_id], retry=False)
    except Exception:
        logger.warning("could not queue the thumbnails of product image %s", image_id)


@transaction.atomic
def product_image_add(
    *,
    product: Product,
    file: IO[bytes],
    variant: Variant | None = None,
    alt: str = "",
    position: int | None = None,
    user: AbstractBaseUser | None = None,
    thumbnails_now: bool = False,
) -> ProductImage:
    """A new picture of ``product`` (of one of its variants when ``variant`` is given),
    last unless ``position`` says where. Nothing is stored when the file or the variant
    is refused. Thumbnails: after commit by a worker, or at once (``thumbnails_now``,
    the demo data)."""
    _variant_check(product, variant)
    facts = image_check(file)
    if position is None:
        last = product.images.aggregate(last=Max("position"))["last"]
        position = 0 if last is None else last + 1
    image = ProductImage(product=product, variant=variant, alt=alt.strip(), position=position)
    _store(image, file, facts)
    try:
        image.save()
    except Exception:
        _files_delete([image.image.name])
        raise
    _record(product, user, {"image": [None, image.image.name]}, variant)
    _after_commit(image.pk, thumbnails_now=thumbnails_now)
    return image


UPDATABLE = {"variant", "alt", "position"}


@transaction.atomic
def product_image_update(
    *,
    image: ProductImage,
    file: IO[bytes] | None = None,
    user: AbstractBaseUser | None = None,
    **fields,
) -> ProductImage:
    """Change a picture's variant, alternative text or position, or replace its file
    (the old file and its thumbnails are deleted after commit)."""
    unknown = set(fields) - UPDATABLE
    if unknown:
        raise TypeError(f"not updatable: {sorted(unknown)}")
    image = ProductImage.objects.select_for_update().select_related("product").get(pk=image.pk)
    if "variant" in fields:
        _variant_check(image.product, fields["variant"])
    facts = image_check(file) if file is not None else None
    changes = {}
    for name, value in fields.items():
        value = value.strip() if name == "alt" else value
        before = getattr(image, f"{name}_id" if name == "variant" else name)
        after = value.pk if name == "variant" and value is not None else value
        if before != after:
            changes[name] = [before, after]
            setattr(image, name, value)
    old_files = []
    if facts is not None:
        old_files = [image.image.name, *image.thumbnails.values()]
        _store(image, file, facts)
        changes["image"] = [old_files[0], image.image.name]
    if not changes:
        return image
    try:
        image.save()
    except Exception:
        if facts is not None:
            _files_delete([image.image.name])
        raise
    _record(image.product, user, changes, image.variant)
    if old_files:
        transaction.on_commit(partial(_files_delete, old_files))
        _after_commit(image.pk, thumbnails_now=False)
    return image


@transaction.atomic
def product_image_delete(*, image: ProductImage, user: AbstractBaseUser | None = None) -> None:
    """Remove a picture; its files go after commit (a rollback keeps them)."""
    image = ProductImage.objects.select_for_update().select_related("product").get(pk=image.pk)
    names = [image.image.name, *image.thumbnails.values()]
    product, variant = image.product, image.variant
    image.delete()
    _record(product, user, {"image": [names[0], None]}, variant)
    transaction.on_commit(partial(_files_delete, names))


def product_image_thumbnails_make(*, image_id: int) -> str:
    """Make the thumbnails of one picture (each width of PRODUCT_IMAGE_THUMBNAIL_WIDTHS
    narrower than the original, WebP), through the storage. Idempotent: a picture that
    has them, or is gone, is left alone; if the picture changed or another worker got
    there first meanwhile, this run deletes what it wrote and records nothing."""
    image = ProductImage.objects.filter(pk=image_id).first()
    if image is None:
        return "gone"
    if image.thumbnails_made_at is not None:
        return "done"
    storage, original = _storage(), image.image.name
    widths = sorted(settings.PRODUCT_IMAGE_THUMBNAIL_WIDTHS)
    made: dict[str, str] = {}
    stem = str(PurePosixPath(original).with_suffix(""))
    run = secrets.token_hex(4)  # this run's own names: a concurrent run never clashes
    try:
        with (
            storage.open(original, "rb") as source,
            Image.open(source, formats=list(FORMATS)) as raw,
        ):
            _pixels_check(*raw.size)
            if raw.format == "JPEG":
                raw.draft("RGB", (widths[-1], widths[-1]))  # decode big JPEGs scaled down
            picture = ImageOps.exif_transpose(raw)
            has_alpha = picture.mode in {"RGBA", "LA", "PA"} or "transparency" in picture.info
            picture = picture.convert("RGBA" if has_alpha else "RGB")
            for width in widths:
                if width >= picture.width:
                    continue
                height = max(1, round(picture.height * width / picture.width))
                thumbnail = picture.resize((width, height), Image.Resampling.LANCZOS)
                buffer = BytesIO()
                thumbnail.save(buffer, THUMBNAIL_FORMAT, quality=82, method=4)
                name = f"{stem}-{width}-{run}{THUMBNAIL_SUFFIX}"
                made[str(width)] = storage.save(name, ContentFile(buffer.getvalue()))
    except Exception:
        _files_delete(list(made.values()))
        raise
    updated = ProductImage.objects.filter(
        pk=image_id, image=original, thumbnails_made_at__isnull=True
    ).update(thumbnails=made, thumbnails_made_at=timezone.now())
    if not updated:
        _files_delete(list(made.values()))
        return "superseded"
    return "made"


# --------------------------------------------------------------------------- reading


def thumbnail_url(name: str, thumbnails: dict, width: int) -> str:
    """The address of the ``width`` thumbnail, or of the original until it exists (or
    when the original is no wider)."""
    storage = _storage()
    thumbnail = thumbnails.get(str(width))
    return storage.url(thumbnail or name)


def image_payload(
    *,
    name: str,
    thumbnails: dict,
    width: int,
    height: int,
    alt: str,
    variant: int | None,
    absolute: Callable[[str], str] = str,
) -> dict:
    """One picture as the API shows it: its address, one per thumbnail width (the
    original stands in for those not made yet, or wider than it), and a ``srcset``
    listing each distinct picture once with its real width."""
    storage = _storage()
    url = absolute(storage.url(name))
    widths = sorted(settings.PRODUCT_IMAGE_THUMBNAIL_WIDTHS)
    sizes, candidates = {}, []
    for size in widths:
        thumbnail = thumbnails.get(str(size))
        sizes[str(size)] = absolute(storage.url(thumbnail)) if thumbnail else url
        if thumbnail:
            candidates.append(f"{sizes[str(size)]} {size}w")
    if width and (not thumbnails or width <= widths[-1]):
        candidates.append(f"{url} {width}w")
    return {
        "url": url,
        "alt": alt,
        "variant": variant,
        "width": width,
        "height": height,
        "sizes": sizes,
        "srcset": ", ".join(candidates),
    }
