"""Factories shared by the suite: two wards side by side, old wards, users per role, cameras."""

from __future__ import annotations

from typing import Any

import factory
from django.contrib.auth import get_user_model
from django.contrib.gis.geos import MultiPolygon, Point, Polygon

from cameras.models import Camera, Funding, Site, Sponsor
from portal.models import Membership, OldWard, Ward


def box(x0: float, y0: float, x1: float, y1: float) -> MultiPolygon:
    return MultiPolygon(Polygon.from_bbox((x0, y0, x1, y1)), srid=4326)


class WardFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Ward
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Phường {n}")
    slug = factory.Sequence(lambda n: f"ward-{n}")
    code = factory.Sequence(lambda n: f"W{n}")
    boundary = factory.LazyFunction(lambda: box(106.76, 10.82, 106.80, 10.86))


class OldWardFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OldWard

    ward = factory.SubFactory(WardFactory)
    name = factory.Sequence(lambda n: f"Old ward {n}")
    boundary = factory.LazyAttribute(lambda o: o.ward.boundary)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("pw-for-tests-1")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    ward = factory.SubFactory(WardFactory)
    role = "official"
    is_home = True


class SiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Site

    ward = factory.SubFactory(WardFactory)
    code = factory.Sequence(lambda n: f"S{n:02d}")
    name = factory.Sequence(lambda n: f"Site {n}")


class SponsorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Sponsor

    ward = factory.SubFactory(WardFactory)
    name = factory.Sequence(lambda n: f"Sponsor {n}")


def camera_in(ward: Ward, **kwargs: Any) -> Camera:
    """A saved camera at the centre of ``ward`` (derived fields filled by the service's rules)."""
    from cameras.services import validate_camera

    centre = ward.boundary.centroid
    defaults: dict[str, Any] = {
        "code": f"CAM-{Camera.objects.count() + 1:04d}",
        "name": "Test camera",
        "location": Point(centre.x, centre.y, srid=4326),
        "heading": 90,
        "fov_angle": 90,
        "range_m": 50,
        "status": Camera.Status.ONLINE,
    }
    defaults.update(kwargs)
    camera = Camera(ward=ward, **defaults)
    validate_camera(camera)
    camera.save()
    return camera


class FundingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Funding

    ward = factory.SubFactory(WardFactory)
    sponsor = factory.SubFactory(SponsorFactory, ward=factory.SelfAttribute("..ward"))
    amount_vnd = 100_000_000
    date = "2026-01-15"
