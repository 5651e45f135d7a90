"""MEDIA_URL answered by Django, read through the default storage (so it serves the
folder of a developer's machine, the tests' in-memory storage, or anything else the
storage backend reaches). Mounted only when SERVE_MEDIA is on (development, tests, a
one-machine demo); in production the storage's own server or CDN answers."""

from __future__ import annotations

import posixpath

from django.core.exceptions import SuspiciousFileOperation
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404
from django.views.decorators.http import require_safe

# What we store (catalog.images): a stored file is served with one of these types only.
CONTENT_TYPES = {".jpg": "image/jpeg", ".png": "image/png", ".webp": "image/webp"}


@require_safe
def media_serve(request, path: str) -> FileResponse:
    name = posixpath.normpath(path).lstrip("/")
    content_type = CONTENT_TYPES.get(posixpath.splitext(name)[1].lower())
    if name != path or name.startswith("..") or content_type is None:
        raise Http404
    try:
        if not default_storage.exists(name):
            raise Http404
        file = default_storage.open(name, "rb")
    except (OSError, ValueError, SuspiciousFileOperation) as error:  # outside its root too
        raise Http404 from error
    response = FileResponse(file, content_type=content_type)
    # Stored names are random and never reused: a browser may keep them for good.
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    return response
