from django.utils.translation import gettext as _
from rest_framework import exceptions, pagination

from unicommerce.converters import whole_number


class CursorPagination(pagination.CursorPagination):
    """Stable pages under concurrent writes; ``?page_size=`` up to 100."""

    ordering = "id"
    page_size_query_param = "page_size"
    max_page_size = 100

    def get_page_size(self, request):
        # DRF silently ignores a page size it cannot read, and reads "١٢" as 12: a page
        # size is ASCII digits, 1 or more (larger than the maximum reads as the maximum).
        raw = request.query_params.get(self.page_size_query_param, "")
        if raw == "":
            return self.page_size
        size = whole_number(raw, minimum=1)
        if size is None:
            raise exceptions.ValidationError(
                {
                    self.page_size_query_param: [
                        _("A whole number from 1 to %(max)s.") % {"max": self.max_page_size}
                    ]
                }
            )
        return min(size, self.max_page_size)

    def decode_cursor(self, request):
        # DRF answers 404 for a cursor it cannot read; it is a malformed request: 400.
        try:
            return super().decode_cursor(request)
        except exceptions.NotFound:
            raise exceptions.ValidationError(
                {self.cursor_query_param: ["This cursor is not valid; use `next`/`previous`."]}
            ) from None
