"""Field-of-view geometry as plain Python: a camera sees a circular sector.

Angles: heading in degrees clockwise from north, field-of-view angle in degrees (360 = all round),
range in metres. The sector is built in the plane tangent to the WGS 84 ellipsoid at the camera (its
radii of curvature there), which is exact to a few centimetres for the ranges of street cameras
(< 1 km), and returned in WGS 84. (A sphere of mean radius would be 0.5% short north–south here.)
"""

from __future__ import annotations

import math

from django.contrib.gis.geos import Point, Polygon
from django.utils.translation import gettext as _

EARTH_RADIUS_M = 6_371_008.8
# Rough metres per degree of latitude, for search boxes; sectors use the ellipsoid below.
METRES_PER_DEGREE_LAT = math.pi * EARTH_RADIUS_M / 180.0
WGS84_A = 6_378_137.0
WGS84_F = 1 / 298.257223563
WGS84_E2 = WGS84_F * (2 - WGS84_F)
ARC_STEP_DEG = 5.0

# Vietnam's extent (mainland and near islands), to catch swapped or foreign coordinates.
VN_LAT = (8.0, 23.5)
VN_LON = (102.0, 110.0)


def offset(lon: float, lat: float, bearing_deg: float, distance_m: float) -> tuple[float, float]:
    """The point ``distance_m`` away from (lon, lat) along ``bearing_deg``, on the WGS 84 ellipsoid."""
    b = math.radians(bearing_deg)
    phi = math.radians(lat)
    w = 1 - WGS84_E2 * math.sin(phi) ** 2
    meridional = WGS84_A * (1 - WGS84_E2) / w**1.5  # radius of curvature north-south
    parallel = WGS84_A / math.sqrt(w) * math.cos(phi)  # radius of the circle of latitude
    dlat = math.degrees(distance_m * math.cos(b) / meridional)
    dlon = math.degrees(distance_m * math.sin(b) / parallel)
    return lon + dlon, lat + dlat


def sector_coords(lon: float, lat: float, heading: float, angle: float, range_m: float) -> list[tuple[float, float]]:
    """Closed ring (lon, lat) of the sector; a full circle when ``angle >= 360``."""
    if range_m <= 0 or angle <= 0:
        raise ValueError("range and angle must be positive")
    if angle >= 360:
        steps = int(360 / ARC_STEP_DEG)
        ring = [offset(lon, lat, i * 360.0 / steps, range_m) for i in range(steps)]
        return [*ring, ring[0]]
    start = heading - angle / 2.0
    steps = max(2, math.ceil(angle / ARC_STEP_DEG))
    arc = [offset(lon, lat, start + i * angle / steps, range_m) for i in range(steps + 1)]
    return [(lon, lat), *arc, (lon, lat)]


def sector_polygon(point: Point, heading: float, angle: float, range_m: float) -> Polygon:
    return Polygon(sector_coords(point.x, point.y, heading, angle, range_m), srid=4326)


def in_vietnam(lon: float, lat: float) -> bool:
    return VN_LAT[0] <= lat <= VN_LAT[1] and VN_LON[0] <= lon <= VN_LON[1]


def check_position(lon: float, lat: float) -> str | None:
    """A message saying what is wrong with a camera position, or ``None`` when it is plausible."""
    if in_vietnam(lon, lat):
        return None
    # Checked before the range: a swapped Vietnamese position always has a "latitude" above 90.
    if in_vietnam(lat, lon):
        return _("latitude and longitude look swapped (Vietnam is at latitude 8–23.5, longitude 102–110)")
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        return _("not a valid longitude/latitude")
    return _("the position is outside Vietnam (latitude 8–23.5, longitude 102–110)")
