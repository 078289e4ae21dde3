"""Evidence through the API: uploads sniffed by content, downloads and views in the chain of custody, scoping."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.utils import timezone
from PIL import Image

from incidents import services
from incidents.models import CustodyEntry, Evidence
from tests.base.factories import camera_in
from tests.incidents.conftest import record

pytestmark = pytest.mark.django_db


def jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buf, format="JPEG")
    return buf.getvalue()


def upload(client: Any, case: Any, name: str, body: bytes, content_type: str = "video/mp4", **extra: Any) -> Any:
    return client.post(
        f"/api/cases/{case.pk}/evidence/",
        {"file": SimpleUploadedFile(name, body, content_type=content_type), **extra},
        format="multipart",
    )


def stored_files(media: Path) -> list[Path]:
    return [p for p in (media / "evidence").rglob("*") if p.is_file()] if (media / "evidence").exists() else []


@pytest.mark.parametrize(
    ("name", "body", "says"),
    [
        ("empty.mp4", b"", "empty"),
        ("page.mp4", b"<!DOCTYPE html><html><body>not a video</body></html>", "HTML"),
        ("tool.mp4", b"\x7fELF\x02\x01\x01" + b"\x00" * 200, "ELF"),
        ("photos.jpg", b"PK\x03\x04" + b"\x00" * 200, "zip"),
        ("fake.mp4", b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 500, "cannot be read as video"),
        ("broken.jpg", b"\xff\xd8\xff\xe0garbage" + b"\x00" * 100, "cannot be read as an image"),
    ],
    ids=["zero-byte", "html-as-mp4", "elf-as-mp4", "zip-as-jpg", "truncated-mp4", "jpeg-head-only"],
)
def test_bad_uploads_are_refused_and_nothing_is_kept(
    api: Any, ward_a: Any, case: Any, media: Path, english: Any, name: str, body: bytes, says: str
) -> None:
    response = upload(api(ward_a.users["investigator"]), case, name, body)
    assert response.status_code == 400, response.json()
    assert says in " ".join(response.json()["file"])
    assert not Evidence.objects.exists() and not stored_files(media)
    assert not case.custody.exists()


def test_oversized_upload_is_refused(api: Any, ward_a: Any, case: Any, media: Path, settings: Any, english: Any) -> None:
    settings.EVIDENCE_MAX_BYTES = 1000
    response = upload(api(ward_a.users["investigator"]), case, "big.jpg", jpeg() + b"\x00" * 2000, "image/jpeg")
    assert response.status_code == 400
    assert "at most 1000 bytes" in response.json()["file"][0]
    assert not Evidence.objects.exists() and not stored_files(media)


def test_upload_typed_by_content_hashed_and_stored_once(api: Any, ward_a: Any, case: Any, media: Path) -> None:
    client = api(ward_a.users["investigator"])
    body = jpeg()
    # Named and declared as a video; the bytes are a JPEG: it is kept as what it is.
    first = upload(client, case, "clip.mp4", body, "video/mp4", note="Witness photo")
    assert first.status_code == 201, first.json()
    data = first.json()
    sha = hashlib.sha256(body).hexdigest()
    assert data["status"] == "ready" and data["sha256"] == sha and data["size"] == len(body)
    assert data["content_type"] == "image/jpeg" and data["original_name"] == "clip.mp4"
    path = media / f"evidence/{sha[:2]}/{sha[2:4]}/{sha}.jpg"
    assert path.read_bytes() == body
    second = upload(client, case, "again.jpg", body, "image/jpeg")
    assert second.status_code == 201
    assert stored_files(media) == [path]  # same bytes, same file, never a second copy
    assert Evidence.objects.filter(sha256=sha).count() == 2
    assert list(case.custody.order_by("seq").values_list("action", flat=True)) == ["intake", "intake"]


def test_real_video_upload_is_accepted(api: Any, ward_a: Any, case: Any, media: Path, camera: Any) -> None:
    segment = record(camera, started=timezone.now() - dt.timedelta(hours=1), count=1, media_root=media)[0]
    body = (media / segment.path).read_bytes()
    response = upload(api(ward_a.users["investigator"]), case, "phone.bin", body, "application/octet-stream")
    assert response.status_code == 201, response.json()
    assert response.json()["content_type"] == "video/mp4"


def test_views_and_downloads_are_in_the_chain_of_custody(api: Any, ward_a: Any, case: Any, media: Path) -> None:
    client = api(ward_a.users["investigator"])
    body = jpeg()
    item = upload(client, case, "photo.jpg", body, "image/jpeg").json()
    url = f"/api/cases/{case.pk}/evidence/{item['id']}/download/"
    refused = client.get(url)
    assert refused.status_code == 400 and "reason" in refused.json()
    response = client.get(url + "?reason=Prosecutor+asked+for+a+copy")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == body
    assert f"{case.number}-{item['id']}.jpg" in response["Content-Disposition"]
    assert client.get(f"/api/evidence/{item['id']}/?reason=Checking+the+hash").status_code == 200
    played = client.get(url + "?inline=1")  # the case page's player: a view, reason optional
    assert played.status_code == 200 and "inline" in played["Content-Disposition"]
    entries = list(CustodyEntry.objects.filter(case=case).order_by("seq"))
    assert [(e.action, e.actor_name, e.reason) for e in entries] == [
        ("intake", "investigator.a", ""),
        ("download", "investigator.a", "Prosecutor asked for a copy"),
        ("view", "investigator.a", "Checking the hash"),
        ("view", "investigator.a", ""),
    ]
    assert all(e.evidence_id == item["id"] and e.evidence_sha256 == item["sha256"] for e in entries)
    log = client.get(f"/api/cases/{case.pk}/custody/").json()
    assert log["intact"] and [e["seq"] for e in log["entries"]] == [1, 2, 3, 4]
    # The exported log re-hashes without Django.
    assert services.verify_chain(services.custody_log(case)) == []


def test_edited_custody_entry_is_detected(api: Any, ward_a: Any, case: Any, media: Path, capsys: Any) -> None:
    client = api(ward_a.users["investigator"])
    item = upload(client, case, "photo.jpg", jpeg(), "image/jpeg").json()
    for reason in ("first look", "second look"):
        client.get(f"/api/evidence/{item['id']}/?reason={reason.replace(' ', '+')}")
    call_command("verify_custody")  # intact
    assert "intact: 3 entries" in capsys.readouterr().out
    CustodyEntry.objects.filter(case=case, seq=2).update(reason="nobody looked")
    with pytest.raises(CommandError, match="broken at 1 of 3"):
        call_command("verify_custody", "--case", case.number)
    assert f"case {case.number} entry #2" in capsys.readouterr().err
    exported = services.custody_log(case)
    assert services.verify_chain(exported) == [2]
    exported[1]["reason"] = "first look"  # put it back: the export re-hashes again
    assert services.verify_chain(exported) == []
    # Deleting an entry breaks the link of the next one.
    CustodyEntry.objects.filter(case=case, seq=2).update(reason="first look")
    CustodyEntry.objects.filter(case=case, seq=2).delete()
    assert [e.seq for e in services.verify_custody(case=case)[case.pk]] == [3]
    assert client.get(f"/api/cases/{case.pk}/custody/").json()["broken"] == [3]


def test_other_wards_evidence_is_not_found(api: Any, ward_a: Any, ward_b: Any, case: Any, media: Path) -> None:
    item = upload(api(ward_a.users["investigator"]), case, "photo.jpg", jpeg(), "image/jpeg").json()
    theirs = api(ward_b.users["investigator"])
    assert theirs.get(f"/api/cases/{case.pk}/evidence/").status_code == 404
    assert theirs.get(f"/api/cases/{case.pk}/evidence/{item['id']}/download/?reason=x").status_code == 404
    assert theirs.get(f"/api/evidence/{item['id']}/").status_code == 404
    assert theirs.get(f"/api/cases/{case.pk}/custody/").status_code == 404
    assert upload(theirs, case, "x.jpg", jpeg(), "image/jpeg").status_code == 404
    # Ward B's own case cannot reach ward A's evidence through its URL either.
    other = services.create_case(ward=ward_b.ward, actor=ward_b.users["investigator"], title="B", occurred_at=timezone.now())
    assert theirs.get(f"/api/cases/{other.pk}/evidence/{item['id']}/download/?reason=x").status_code == 404
    # Operators of the ward read the case but not its evidence.
    operator = api(ward_a.users["operator"])
    assert operator.get(f"/api/cases/{case.pk}/").status_code == 200
    assert operator.get(f"/api/cases/{case.pk}/evidence/").status_code == 403
    assert operator.get(f"/api/cases/{case.pk}/custody/").status_code == 403
    assert CustodyEntry.objects.filter(case=case).count() == 1


def test_clip_request_through_the_api(api: Any, ward_a: Any, ward_b: Any, case: Any, camera: Any) -> None:
    client = api(ward_a.users["investigator"])
    start = timezone.now() - dt.timedelta(minutes=5)
    body = {"camera": "CAM-1", "start": start.isoformat(), "end": (start + dt.timedelta(seconds=30)).isoformat()}
    response = client.post(f"/api/cases/{case.pk}/evidence/", body, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["kind"] == "clip" and response.json()["status"] == "pending"
    assert response.json()["download"] is None
    theirs = camera_in(ward_b.ward, code="CAM-B")
    response = client.post(f"/api/cases/{case.pk}/evidence/", body | {"camera": theirs.pk}, format="json")
    assert response.status_code == 400 and "camera" in response.json()
    response = client.post(f"/api/cases/{case.pk}/evidence/", {"camera": "CAM-1", "start": start.isoformat()}, format="json")
    assert response.status_code == 400 and "end" in response.json()
    assert Evidence.objects.count() == 1
