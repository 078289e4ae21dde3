from rest_framework import pagination
from rest_framework_gis.pagination import GeoJsonPagination as _GeoJsonPagination


class PageNumberPagination(pagination.PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 1000


class GeoJsonPagination(_GeoJsonPagination):
    """Map layers fetch a ward's features in few requests."""

    page_size = 1000
    page_size_query_param = "page_size"
    max_page_size = 5000
