from rest_framework import pagination
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request


class PageNumberPagination(pagination.PageNumberPagination):
    """``?page=N&page_size=M`` (at most 500 a page; a page past the last is a 404)."""

    page_size_query_param = "page_size"
    max_page_size = 500

    def get_page_size(self, request: Request) -> int | None:
        # DRF falls back to the default for a page size that is no number; the schema says integer.
        raw = request.query_params.get(self.page_size_query_param)
        if raw is not None and not raw.strip().lstrip("-").isdigit():
            raise ValidationError({self.page_size_query_param: ["must be a whole number"]})
        return super().get_page_size(request)
