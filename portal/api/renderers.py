from rest_framework.renderers import JSONRenderer


class GeoJSONRenderer(JSONRenderer):
    """``?format=geojson``: the list as a FeatureCollection (map layers)."""

    media_type = "application/geo+json"
    format = "geojson"
