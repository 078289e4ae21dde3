"""Generic API cases that every ward-owned endpoint runs (STYLE.md §11).

Add an ``EndpointSpec`` to ``SPECS`` for each new router registration; ``test_every_endpoint_is_covered``
fails otherwise. Each spec says how to make an object in a ward and, for writable endpoints, what to
post and patch; related fields are probed with the other ward's objects.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile

from cameras.models import Camera, CameraImport, Funding, Site, Sponsor
from portal.models import OldWard, Ward
from tests.base.analysis import face_in, new_camera, plate_read_in, segment_in, settings_in, track_in
from tests.base.factories import FundingFactory, OldWardFactory, SiteFactory, SponsorFactory, box, camera_in


@dataclass
class EndpointSpec:
    basename: str
    make: Callable[[Ward], Any]
    create: Callable[[Ward], dict[str, Any]] | None = None
    update: dict[str, Any] | None = None
    # field name -> function(other ward) giving a related object of the other ward
    related: dict[str, Callable[[Ward], Any]] = field(default_factory=dict)
    many_related: set[str] = field(default_factory=set)
    geojson: bool = False
    deletable: bool = True
    object_ward: Callable[[Any], Ward] = lambda obj: obj.ward
    view_roles: frozenset[str] = frozenset({"official", "operator", "investigator", "admin"})
    create_format: str = "json"
    created_status: int = 201
    write_roles: frozenset[str] = frozenset({"admin"})

    @property
    def writable(self) -> bool:
        return self.create is not None


def _import_in(ward: Ward) -> CameraImport:
    from tests.base.factories import MembershipFactory, UserFactory

    admin = UserFactory(username=f"importer.{ward.slug}")
    if not admin.memberships.exists():
        MembershipFactory(user=admin, ward=ward, role="admin")
    return CameraImport.objects.create(
        ward=ward, created_by=admin, filename="old.csv", format="csv", sha256="0" * 64, file="imports/none.csv"
    )


def _csv_for(ward: Ward) -> dict[str, Any]:
    c = ward.boundary.centroid
    body = f"code,name,longitude,latitude\nIMP-1,Imported,{c.x},{c.y}\n".encode()
    return {"file": SimpleUploadedFile("cameras.csv", body, content_type="text/csv")}


def _alert_in(ward: Ward) -> Any:
    from analytics.services import raise_alert

    alert, _event = raise_alert(camera=camera_in(ward, code=f"AL-{Camera.objects.count()}"), type="manual", note="spec")
    return alert


def _event_in(ward: Ward) -> Any:
    return _alert_in(ward).events.get()


def _case_in(ward: Ward) -> Any:
    from django.utils import timezone

    from incidents.models import Incident
    from tests.base.factories import UserFactory

    return Incident.objects.create(ward=ward, title="Draft", occurred_at=timezone.now(), created_by=UserFactory())


def _export_in(ward: Ward) -> Any:
    from incidents.models import ExportJob

    case = _case_in(ward)
    return ExportJob.objects.create(ward=ward, case=case, reason="Prosecutor's request", created_by=case.created_by)


def _evidence_in(ward: Ward) -> Any:
    from incidents.models import Evidence

    case = _case_in(ward)
    return Evidence.objects.create(
        ward=ward,
        case=case,
        kind="upload",
        status="ready",
        sha256="ab" * 32,
        size=3,
        content_type="image/jpeg",
        file="evidence/ab/ab/" + "ab" * 32 + ".jpg",
        created_by=case.created_by,
    )


ALERT_ROLES = frozenset({"operator", "investigator", "admin"})
ADMINS = frozenset({"admin"})
# A public address given as a number: the URL check needs no DNS in tests.
PUBLIC_HOOK_URL = "https://93.184.216.34/hooks/matthan"


def _webhook_in(ward: Ward) -> Any:
    from analytics.models import Webhook

    return Webhook.objects.create(
        ward=ward, name=f"Hook {Webhook.objects.count()}", url=PUBLIC_HOOK_URL, secret="spec-secret-" + "x" * 20
    )


def _delivery_in(ward: Ward) -> Any:
    from analytics.models import WebhookDelivery

    event = _event_in(ward)
    return WebhookDelivery.objects.create(ward=ward, webhook=_webhook_in(ward), event=event, kind=event.kind, payload={})


def _clip_job_in(ward: Ward) -> Any:
    from django.utils import timezone

    from analytics.models import ClipJob
    from tests.base.factories import UserFactory

    return ClipJob.objects.create(
        ward=ward, filename="clip.mp4", file="clips/none.bin", recorded_at=timezone.now(), created_by=UserFactory()
    )


def _clip_upload(ward: Ward) -> dict[str, Any]:
    return {"file": SimpleUploadedFile("clip.mp4", b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64, content_type="video/mp4")}


def _centre(ward: Ward) -> dict[str, Any]:
    c = ward.boundary.centroid
    return {"type": "Point", "coordinates": [c.x, c.y]}


WATCH_ROLES = frozenset({"investigator", "admin"})


def _watch_in(ward: Ward) -> Any:
    import datetime as dt

    from django.utils import timezone

    from tests.base.factories import UserFactory
    from watchlists.models import WatchlistEntry

    entry = WatchlistEntry.objects.create(
        ward=ward,
        plate="51F-123.45",
        text="51F-123.45",
        search_key="51F12345",
        reason="Spec",
        legal_basis="Spec basis",
        expires_at=timezone.now() + dt.timedelta(days=7),
        proposed_by=UserFactory(),
    )
    entry.covered_wards.add(ward)
    return entry


def _watch_create(ward: Ward) -> dict[str, Any]:
    import datetime as dt

    from django.utils import timezone

    return {
        "plate": "51F-123.45",
        "reason": "Xe gây cướp giật ngày 12/3",
        "legal_basis": "Quyết định khởi tố vụ án 12/QĐ",
        "expires_at": (timezone.now() + dt.timedelta(days=7)).isoformat(),
    }


SPECS: list[EndpointSpec] = [
    EndpointSpec(
        basename="ward",
        make=lambda ward: ward,
        geojson=True,
        deletable=False,
        object_ward=lambda obj: obj,
    ),
    EndpointSpec(
        basename="oldward",
        make=lambda ward: OldWardFactory(ward=ward, name=f"Spec old ward {OldWard.objects.count()}"),
        create=lambda ward: {
            "name": "Drawn old ward",
            "boundary": {"type": "Polygon", "coordinates": [list(ward.boundary[0][0].coords)]},
        },
        update={"name": "Renamed old ward"},
        geojson=True,
    ),
    EndpointSpec(
        basename="camera",
        make=lambda ward: camera_in(ward),
        create=lambda ward: {
            "code": "NEW-001",
            "name": "Cổng chợ",
            "location": _centre(ward),
            "heading": 45,
            "fov_angle": 90,
            "range_m": 40,
            "kind": "regular",
            "programme": "old_ward",
            "status": "online",
            "main_stream_url": "rtsp://10.1.2.3:554/stream1",
        },
        update={"status": "maintenance", "name": "Đổi tên"},
        related={"site": lambda ward: SiteFactory(ward=ward), "sponsor": lambda ward: SponsorFactory(ward=ward)},
        geojson=True,
    ),
    EndpointSpec(
        basename="site",
        make=lambda ward: SiteFactory(ward=ward),
        create=lambda ward: {"code": "S99", "name": "Ngã tư mới", "location": _centre(ward)},
        update={"name": "Ngã tư đổi tên"},
        geojson=True,
    ),
    EndpointSpec(
        basename="sponsor",
        make=lambda ward: SponsorFactory(ward=ward),
        create=lambda ward: {"name": "Công ty Tài trợ Mới"},
        update={"note": "Gia hạn tài trợ"},
    ),
    EndpointSpec(
        basename="funding",
        make=lambda ward: FundingFactory(ward=ward),
        create=lambda ward: {
            "sponsor": SponsorFactory(ward=ward).pk,
            "amount_vnd": 250_000_000,
            "date": "2026-05-01",
            "cameras": [camera_in(ward).pk],
        },
        update={"amount_vnd": 300_000_000},
        related={
            "sponsor": lambda ward: SponsorFactory(ward=ward),
            "cameras": lambda ward: camera_in(ward, code=f"OTHER-{Camera.objects.count()}"),
        },
        many_related={"cameras"},
    ),
    EndpointSpec(
        basename="cameraimport",
        make=_import_in,
        create=_csv_for,
        deletable=False,
        view_roles=frozenset({"admin"}),
        create_format="multipart",
        created_status=202,
    ),
    EndpointSpec(
        basename="alert",
        make=_alert_in,
        create=lambda ward: {
            "camera": camera_in(ward, code=f"NEWAL-{Camera.objects.count()}").pk,
            "type": "manual",
            "note": "Đánh nhau",
        },
        related={"camera": lambda ward: camera_in(ward, code=f"OTHERAL-{Camera.objects.count()}")},
        deletable=False,
        view_roles=ALERT_ROLES,
        write_roles=ALERT_ROLES,
    ),
    EndpointSpec(basename="alertevent", make=_event_in, deletable=False, view_roles=ALERT_ROLES),
    EndpointSpec(
        basename="case",
        make=_case_in,
        create=lambda ward: {
            "title": "Snatching at the market",
            "type": "snatching",
            "occurred_at": "2026-03-01T20:15:00+07:00",
            "location": _centre(ward),
        },
        update={"title": "Snatching at the night market"},
        related={"cameras": lambda ward: camera_in(ward, code=f"CS-{Camera.objects.count()}")},
        many_related={"cameras"},
        deletable=False,
        view_roles=ALERT_ROLES,
        write_roles=frozenset({"investigator", "admin"}),
    ),
    EndpointSpec(basename="evidence", make=_evidence_in, deletable=False, view_roles=frozenset({"investigator", "admin"})),
    EndpointSpec(basename="exportjob", make=_export_in, deletable=False, view_roles=frozenset({"investigator", "admin"})),
    EndpointSpec(
        basename="webhook",
        make=_webhook_in,
        create=lambda ward: {
            "name": "Trung tâm chỉ huy",
            "url": PUBLIC_HOOK_URL,
            "event_kinds": ["raised", "escalated"],
            "min_severity": 3,
        },
        update={"name": "Trung tâm chỉ huy quận", "active": False},
        view_roles=ADMINS,
        write_roles=ADMINS,
    ),
    EndpointSpec(basename="webhookdelivery", make=_delivery_in, deletable=False, view_roles=ADMINS),
    EndpointSpec(
        basename="analysissettings",
        make=settings_in,
        create=lambda ward: {"camera": new_camera(ward, "NEWAN").pk, "live": True, "record": True},
        update={"live": False, "segment_seconds": 30},
        related={"camera": lambda ward: new_camera(ward, "OTHERAN")},
        deletable=False,
        view_roles=ALERT_ROLES,
    ),
    EndpointSpec(
        basename="clipjob",
        make=_clip_job_in,
        create=_clip_upload,
        related={"camera": lambda ward: camera_in(ward, code=f"OTHERCLIP-{Camera.objects.count()}")},
        deletable=False,
        view_roles=ALERT_ROLES,
        write_roles=ALERT_ROLES,
        create_format="multipart",
    ),
    EndpointSpec(basename="track", make=track_in, deletable=False, view_roles=ALERT_ROLES),
    EndpointSpec(
        basename="plateread",
        make=plate_read_in,
        create=lambda ward: {
            "camera": new_camera(ward, "EDGE").code,
            "plate": "51F-123.45",
            "seen_at": "2026-03-01T08:00:00+07:00",
            "confidence": 0.93,
            "client_id": f"edge-{Camera.objects.count()}",
        },
        related={"camera": lambda ward: new_camera(ward, "OTHEREDGE")},
        deletable=False,
        view_roles=frozenset({"investigator", "admin"}),
        write_roles=frozenset({"operator", "admin"}),
    ),
    EndpointSpec(basename="facesighting", make=face_in, deletable=False, view_roles=frozenset({"investigator", "admin"})),
    EndpointSpec(basename="recordingsegment", make=segment_in, deletable=False, view_roles=ALERT_ROLES),
    EndpointSpec(
        basename="watchlistentry",
        make=_watch_in,
        create=_watch_create,
        related={"covered_wards": lambda ward: ward},
        many_related={"covered_wards"},
        deletable=False,
        view_roles=WATCH_ROLES,
        write_roles=WATCH_ROLES,
    ),
]

MODELS = {
    "ward": Ward,
    "oldward": OldWard,
    "camera": Camera,
    "site": Site,
    "sponsor": Sponsor,
    "funding": Funding,
    "cameraimport": CameraImport,
}

__all__ = ["MODELS", "SPECS", "EndpointSpec", "box"]
