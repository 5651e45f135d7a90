"""Catalog work for the Celery workers: thin, each calls one service."""

from celery import shared_task

from catalog.images import product_image_thumbnails_make


@shared_task(name="catalog.image_thumbnails", time_limit=120, soft_time_limit=100)
def image_thumbnails_task(image_id: int) -> str:
    """Make one picture's thumbnails. Idempotent: done or gone pictures are skipped."""
    return product_image_thumbnails_make(image_id=image_id)
