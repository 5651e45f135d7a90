from rest_framework import exceptions, pagination


class CursorPagination(pagination.CursorPagination):
    """Stable pages under concurrent writes; ``?page_size=`` up to 100."""

    ordering = "id"
    page_size_query_param = "page_size"
    max_page_size = 100

    def decode_cursor(self, request):
        # DRF answers 404 for a cursor it cannot read; it is a malformed request: 400.
        try:
            return super().decode_cursor(request)
        except exceptions.NotFound:
            raise exceptions.ValidationError(
                {self.cursor_query_param: ["This cursor is not valid; use `next`/`previous`."]}
            ) from None
