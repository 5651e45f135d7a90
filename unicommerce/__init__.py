"""Unicommerce: the project package (settings, URLs, Celery app) and cross-cutting bits
(money, the events outbox, the development stack)."""

from unicommerce.celery import app as celery_app

__all__ = ["celery_app"]
