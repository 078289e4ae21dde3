"""Writing an evidence bundle: media with C2PA content credentials, a signed manifest, the keys to check it.

Plain Python (no ORM): ``incidents.exports`` gathers a case's facts and files, this module writes the zip.
Layout of the zip (every member STORED: video does not compress)::

    media/<nnn>-<kind>-<camera>.<ext>   each exported file, carrying C2PA credentials where the format allows
    manifest.json                       case facts, every file's path/SHA-256/size/window/original hash, custody log
    manifest.sig                        Ed25519 signature of the exact bytes of manifest.json
    public_key.pem                      the deployment's Ed25519 public key (its fingerprint is in the portal)
    c2pa_root.pem                       the root CA that issued the C2PA signing certificate

Each file is read once by the C2PA signer (which writes a signed copy next to the zip) and the copy once
more while it is stored, hashed and checked in the same pass; the zip itself is hashed as it is written.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from incidents.keys import DeploymentKeys
from incidents.verify import ASSERTION_LABEL, BUNDLE_FORMAT, C2PA_ROOT, MANIFEST, PUBLIC_KEY, SIGNATURE, manifest_bytes

CHUNK = 8 * 1024 * 1024
STALE_S = 24 * 3600
C2PA_TYPES = {"video/mp4": ".mp4", "video/quicktime": ".mov", "image/jpeg": ".jpg", "image/png": ".png"}
DIGITAL_CAPTURE = "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"
GENERATOR = {"name": "Mat Than", "version": "1"}


@dataclass
class MediaItem:
    """One file to export. ``source`` is what goes into the bundle (the stored original, or its redacted
    copy); ``original`` is the evidence file it derives from (the C2PA parent ingredient)."""

    source: Path
    arcname: str
    content_type: str
    entry: dict[str, Any]
    assertion: dict[str, Any]
    original: Path | None = None
    edits: list[dict[str, Any]] = field(default_factory=list)


class HashingWriter:
    """A write-only, non-seekable sink that hashes what passes through it to ``target``.

    Given to ``zipfile`` it makes the zip write each member once, front to back (sizes in data
    descriptors), so the bundle's own SHA-256 is known when the last byte is written."""

    def __init__(self, target: IO[bytes]) -> None:
        self.target = target
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        self.target.write(data)
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        self.target.flush()


def _c2pa_manifest(item: MediaItem) -> dict[str, Any]:
    if item.original is not None:
        actions: list[dict[str, Any]] = [{"action": "c2pa.opened", "parameters": {"ingredientIds": ["original"]}}]
    else:
        actions = [{"action": "c2pa.created", "digitalSourceType": DIGITAL_CAPTURE}]
    actions.extend(item.edits)
    return {
        "claim_generator_info": [GENERATOR],
        "title": Path(item.arcname).name,
        "format": item.content_type,
        "assertions": [
            {"label": "c2pa.actions", "data": {"actions": actions}},
            {"label": ASSERTION_LABEL, "data": item.assertion},
        ],
    }


def sign_media(item: MediaItem, keys: DeploymentKeys, dest: Path) -> bool:
    """Write ``item.source`` with C2PA credentials to ``dest``; False (and a plain copy) when the format has none."""
    if item.content_type not in C2PA_TYPES:
        shutil.copyfile(item.source, dest)
        return False
    import c2pa

    settings = {
        "builder": {"thumbnail": {"enabled": False}},
        "verify": {"remote_manifest_fetch": False, "ocsp_fetch": False},
    }
    context = c2pa.Context(c2pa.Settings.from_dict(settings))
    signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ED25519, keys.c2pa_chain_pem, keys.c2pa_key_pem, None))
    with c2pa.Builder(_c2pa_manifest(item), context=context) as builder:
        if item.original is not None:
            with open(item.original, "rb") as parent:
                builder.add_ingredient(
                    {
                        "title": item.entry.get("original_name") or item.original.name,
                        "relationship": "parentOf",
                        "label": "original",
                    },
                    item.content_type,
                    parent,
                )
        with open(item.source, "rb") as source, open(dest, "w+b") as out:
            builder.sign(signer, item.content_type, source, out)
    return True


def _store(archive: zipfile.ZipFile, arcname: str, path: Path) -> tuple[str, int]:
    """Copy ``path`` into the zip (stored) and return its SHA-256 and size, in one read."""
    info = zipfile.ZipInfo(arcname, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_STORED
    info.external_attr = 0o644 << 16
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as source, archive.open(info, "w", force_zip64=True) as member:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
            member.write(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _store_bytes(archive: zipfile.ZipFile, arcname: str, data: bytes) -> None:
    info = zipfile.ZipInfo(arcname, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_STORED
    info.external_attr = 0o644 << 16
    archive.writestr(info, data)


@dataclass
class Written:
    path: Path
    sha256: str
    size: int
    manifest: dict[str, Any]


class BundleWriter:
    """Writes one bundle to ``dest``, atomically: under a temporary name until :meth:`finish` renames it.

    Use as a context manager: :meth:`add` each file, then :meth:`finish` with the case facts and the
    custody log (the caller records the export's custody entries first, so that they are part of what
    is signed, and keeps that transaction open until ``finish`` returns). Leaving the block without
    ``finish`` (an error) removes everything written.
    """

    def __init__(self, dest: Path, keys: DeploymentKeys) -> None:
        self.dest = dest
        self.keys = keys
        self.entries: list[dict[str, Any]] = []

    def __enter__(self) -> BundleWriter:
        self.dest.parent.mkdir(parents=True, exist_ok=True)
        for stale in self.dest.parent.glob(".export-*"):  # left by a worker killed mid-export
            with contextlib.suppress(OSError):
                if time.time() - stale.stat().st_mtime > STALE_S:
                    shutil.rmtree(stale, ignore_errors=True)
        self.work = Path(tempfile.mkdtemp(prefix=".export-", dir=self.dest.parent))
        self.raw = open(self.work / "bundle.zip", "wb")  # noqa: SIM115 (closed in finish/__exit__)
        self.sink = HashingWriter(self.raw)
        self.archive = zipfile.ZipFile(self.sink, "w", compression=zipfile.ZIP_STORED, allowZip64=True)  # type: ignore[call-overload]
        return self

    def add(self, item: MediaItem) -> dict[str, Any]:
        """Sign one file's credentials and store it; returns its manifest entry."""
        signed = self.work / ("signed" + C2PA_TYPES.get(item.content_type, ".bin"))
        try:
            credentials = sign_media(item, self.keys, signed)
            sha256, size = _store(self.archive, item.arcname, signed)
        finally:
            signed.unlink(missing_ok=True)
        entry = {**item.entry, "path": item.arcname, "sha256": sha256, "size": size, "c2pa": credentials}
        self.entries.append(entry)
        return entry

    def finish(self, *, facts: dict[str, Any], custody: list[dict[str, Any]]) -> Written:
        """Write the signed manifest and the keys, close the zip and move it to ``dest``."""
        manifest = {
            **facts,
            "format": BUNDLE_FORMAT,
            "deployment": {
                "key_fingerprint": self.keys.fingerprint,
                "c2pa_root_sha256": hashlib.sha256(self.keys.c2pa_root_pem).hexdigest(),
            },
            "files": self.entries,
            "custody": custody,
        }
        body = manifest_bytes(manifest)
        _store_bytes(self.archive, MANIFEST, body)
        _store_bytes(self.archive, SIGNATURE, self.keys.manifest_key.sign(body))
        _store_bytes(self.archive, PUBLIC_KEY, self.keys.public_key_pem)
        _store_bytes(self.archive, C2PA_ROOT, self.keys.c2pa_root_pem)
        self.archive.close()
        self.raw.flush()
        os.fsync(self.raw.fileno())
        self.raw.close()
        os.replace(self.work / "bundle.zip", self.dest)
        return Written(path=self.dest, sha256=self.sink.digest.hexdigest(), size=self.sink.size, manifest=manifest)

    def __exit__(self, *exc: object) -> None:
        if not self.raw.closed:
            with contextlib.suppress(OSError, ValueError):
                self.archive.close()
            self.raw.close()
        shutil.rmtree(self.work, ignore_errors=True)
