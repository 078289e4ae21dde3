"""Check an evidence bundle without the portal: ``python -m incidents.verify BUNDLE.zip``.

Needs only the standard library, ``cryptography`` and ``c2pa-python``; no settings, no database and
no Django (this module must never import either). It checks

1. the Ed25519 signature of ``manifest.sig`` over the exact bytes of ``manifest.json``;
2. who signed: the key's fingerprint (SHA-256 of the raw public key) is printed; with ``--key`` or
   ``--fingerprint`` (or, in the portal, the deployment's own key) a bundle signed by any other key is
   reported as *signed by an unknown key*. The ``public_key.pem`` inside the bundle proves only that
   nothing changed after signing; the fingerprint the portal shows proves where it came from;
3. every file listed in the manifest: present, size and SHA-256; no file missing, none added;
4. the chain of custody in the manifest: each entry's hash re-computed over its canonical JSON and
   each ``prev_hash`` equal to the previous entry's ``hash``;
5. the C2PA content credentials of each video and image: validation state "Trusted" with the bundled
   root certificate (itself pinned by its SHA-256 in the signed manifest) as the only trust anchor,
   no failure codes, and the credential's case number and original hash equal to the manifest's.

Exit status 0 when everything holds; 1 when anything does not (every failing file is named with the
check that failed); 2 when the file is not a bundle at all.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import shutil
import sys
import tempfile
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
PUBLIC_KEY = "public_key.pem"
C2PA_ROOT = "c2pa_root.pem"
BUNDLE_FORMAT = "matthan-evidence-bundle/1"
#: The label of our own C2PA assertion (ward, camera, time window, original hash, case number).
ASSERTION_LABEL = "vn.matthan.evidence"
GENESIS_HASH = "0" * 64
#: Extended key usages a C2PA signing certificate may carry: emailProtection, documentSigning, C2PA claimSigning.
C2PA_EKUS = ("1.3.6.1.5.5.7.3.4", "1.3.6.1.5.5.7.3.36", "1.3.6.1.4.1.62558.2.1")
CHUNK = 8 * 1024 * 1024
C2PA_MIME = {".mp4": "video/mp4", ".mov": "video/quicktime", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png"}


def canonical_json(payload: Any) -> bytes:
    """The bytes a custody entry's hash is taken over (same as ``incidents.models.canonical_json``)."""
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def manifest_bytes(manifest: dict[str, Any]) -> bytes:
    """How a bundle's manifest is written (readable; the signature covers these exact bytes)."""
    return json.dumps(manifest, sort_keys=True, ensure_ascii=False, indent=2).encode("utf-8") + b"\n"


def fingerprint(raw_public_key: bytes) -> str:
    """SHA-256 of the raw public key, upper-case hex in groups of four: ``AB12 CD34 …``."""
    digest = hashlib.sha256(raw_public_key).hexdigest().upper()
    return " ".join(digest[i : i + 4] for i in range(0, len(digest), 4))


def normalise_fingerprint(value: str) -> str:
    return "".join(ch for ch in value.upper() if ch in "0123456789ABCDEF")


def public_key_fingerprint(pem: bytes) -> str:
    """The fingerprint of an Ed25519 public key given as PEM."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    key = serialization.load_pem_public_key(pem)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return fingerprint(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))


def chain_breaks(entries: Sequence[Any]) -> list[tuple[Any, str]]:
    """Each broken entry of a custody chain as exported: (its ``seq``, what is wrong); empty when intact."""
    breaks: list[tuple[Any, str]] = []
    previous = GENESIS_HASH
    for position, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict):
            breaks.append((position, "not an object"))
            continue
        seq = entry.get("seq", position)
        payload = {k: v for k, v in entry.items() if k != "hash"}
        if hashlib.sha256(canonical_json(payload)).hexdigest() != entry.get("hash"):
            breaks.append((seq, "its hash does not match its content (edited)"))
        if entry.get("prev_hash") != previous:
            breaks.append((seq, "not chained to the entry before it (removed, reordered or inserted)"))
        if entry.get("seq") != position:
            breaks.append((seq, f"out of sequence (expected {position})"))
        previous = str(entry.get("hash", ""))
    return breaks


def custody_problems(entries: Sequence[Any]) -> list[str]:
    """What is wrong with a custody chain as exported: one line per problem (empty when intact)."""
    return [f"custody entry {seq}: {problem}" for seq, problem in chain_breaks(entries)]


@dataclass
class Result:
    """The outcome for one name in the bundle (a file, or the manifest, signature, key or custody log)."""

    name: str
    ok: bool
    checks: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "checks": self.checks, "problems": self.problems}


@dataclass
class Report:
    """Everything :func:`verify_bundle` found. ``ok`` is true only when every check held."""

    results: list[Result] = field(default_factory=list)
    fingerprint: str = ""
    key_trusted: bool | None = None  # None: no trusted key was given, origin not checked
    case_number: str = ""
    ward: str = ""
    created_at: str = ""
    redacted: bool = False
    fatal: str = ""

    @property
    def ok(self) -> bool:
        return not self.fatal and self.key_trusted is not False and all(r.ok for r in self.results)

    @property
    def failed(self) -> list[Result]:
        return [r for r in self.results if not r.ok]

    def add(self, name: str, problem: str | None = None, check: str | None = None) -> Result:
        result = next((r for r in self.results if r.name == name), None)
        if result is None:
            result = Result(name=name, ok=True)
            self.results.append(result)
        if check:
            result.checks.append(check)
        if problem:
            result.ok = False
            result.problems.append(problem)
        return result

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "fatal": self.fatal,
            "fingerprint": self.fingerprint,
            "key_trusted": self.key_trusted,
            "case": self.case_number,
            "ward": self.ward,
            "created_at": self.created_at,
            "redacted": self.redacted,
            "files": [r.as_dict() for r in self.results],
        }


def _hash_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, source: Any) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with _member_stream(archive, info, source) as stream:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


class _StoredMember(io.RawIOBase):
    """A seekable, read-only window on one STORED member of a zip (the C2PA reader seeks about)."""

    def __init__(self, path_or_file: Any, info: zipfile.ZipInfo) -> None:
        super().__init__()
        self._own = not hasattr(path_or_file, "read")
        self._file: IO[bytes] = open(path_or_file, "rb") if self._own else path_or_file  # noqa: SIM115
        self._file.seek(info.header_offset)
        header = self._file.read(30)
        if header[:4] != b"PK\x03\x04":
            raise zipfile.BadZipFile("bad local header")
        name_len = int.from_bytes(header[26:28], "little")
        extra_len = int.from_bytes(header[28:30], "little")
        self._start = info.header_offset + 30 + name_len + extra_len
        self._size = info.file_size
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: Any) -> int:
        want = min(len(buffer), self._size - self._pos)
        if want <= 0:
            return 0
        self._file.seek(self._start + self._pos)
        data = self._file.read(want)
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def close(self) -> None:
        if self._own and not self._file.closed:
            self._file.close()
        super().close()


def _member_stream(archive: zipfile.ZipFile, info: zipfile.ZipInfo, source: Any) -> IO[bytes]:
    """A seekable stream of a member's bytes: a window on the file when stored, else a copy in memory."""
    source = os.fspath(source) if isinstance(source, str | os.PathLike) else archive.fp
    if info.compress_type == zipfile.ZIP_STORED and source is not None:
        return io.BufferedReader(_StoredMember(source, info), buffer_size=1024 * 1024)  # type: ignore[arg-type]
    copy = tempfile.SpooledTemporaryFile(max_size=64 * 1024 * 1024)  # noqa: SIM115 (the caller closes it)
    with archive.open(info) as handle:
        shutil.copyfileobj(handle, copy, CHUNK)
    copy.seek(0)
    return copy  # type: ignore[return-value]


def _member_bytes(archive: zipfile.ZipFile, info: zipfile.ZipInfo, source: Any) -> bytes:
    """A small member's bytes as stored (a STORED member is read without the zip's CRC-32 check)."""
    try:
        with _member_stream(archive, info, source) as stream:
            return stream.read()
    except zipfile.BadZipFile:
        return b""  # a damaged compressed member: reads as empty, so its signature or hash check fails


def _c2pa_check(stream: IO[bytes], mime: str, root_pem: str, entry: dict[str, Any], case_number: str) -> list[str]:
    """Problems with one file's C2PA credentials (empty list when they are trusted and agree)."""
    try:
        import c2pa
    except ImportError:  # pragma: no cover - c2pa-python is a requirement
        return ["C2PA: c2pa-python is not installed, credentials could not be checked"]
    settings = {
        "verify": {"remote_manifest_fetch": False, "ocsp_fetch": False, "verify_trust": True},
        "trust": {"user_anchors": root_pem, "trust_config": "".join(f"{oid}\n" for oid in C2PA_EKUS)},
    }
    try:
        context = c2pa.Context(c2pa.Settings.from_dict(settings))
        reader = c2pa.Reader.try_create(mime, stream, context=context)
    except c2pa.C2paError as exc:
        return [f"C2PA: credentials unreadable ({exc})"]
    if reader is None:
        return ["C2PA: no content credentials in the file"]
    problems: list[str] = []
    with reader:
        state = reader.get_validation_state()
        results = reader.get_validation_results() or {}
        failures = [item.get("code", "?") for item in (results.get("activeManifest") or {}).get("failure", [])]
        if state != "Trusted":
            problems.append(f"C2PA: validation state {state}, not Trusted")
        if failures:
            problems.append("C2PA: " + ", ".join(sorted(set(failures))))
        manifest = reader.get_active_manifest() or {}
        data = next((a.get("data") for a in manifest.get("assertions", []) if a.get("label") == ASSERTION_LABEL), None)
    if not isinstance(data, dict):
        problems.append(f"C2PA: no {ASSERTION_LABEL} assertion")
        return problems
    if data.get("case") != case_number:
        problems.append(f"C2PA: credentials name case {data.get('case')!r}, the manifest {case_number!r}")
    if data.get("original_sha256") != entry.get("original_sha256"):
        problems.append("C2PA: the original's hash in the credentials differs from the manifest's")
    return problems


def verify_bundle(
    source: str | IO[bytes],
    *,
    trusted_keys: Iterable[str] = (),
    check_c2pa: bool = True,
    max_unpacked: int | None = None,
) -> Report:
    """Check a bundle (a path or a binary file object). ``trusted_keys``: fingerprints (any spacing or
    case) or PEM public keys whose signature establishes origin; empty means origin is not checked.
    ``max_unpacked``: refuse a zip whose members add up to more bytes than this (a zip bomb)."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    report = Report()
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        report.fatal = f"not a readable zip file ({exc})"
        return report
    with archive:
        members = {info.filename: info for info in archive.infolist() if not info.is_dir()}
        unpacked = sum(info.file_size for info in members.values())
        if max_unpacked is not None and unpacked > max_unpacked:
            report.fatal = f"the zip unpacks to {unpacked:,} bytes, more than the {max_unpacked:,} accepted here"
            return report
        for required in (MANIFEST, SIGNATURE, PUBLIC_KEY):
            if required not in members:
                report.add(required, "missing from the bundle")
        if report.failed:
            report.fatal = "not an evidence bundle: " + ", ".join(r.name for r in report.failed) + " missing"
            return report
        # Read around the zip's own CRC-32: a changed byte must be named by our checks, not end the run.
        manifest_raw, signature, key_pem = (
            _member_bytes(archive, members[name], source) for name in (MANIFEST, SIGNATURE, PUBLIC_KEY)
        )

        # 1-2. Signature and signer.
        key: Ed25519PublicKey | None = None
        try:
            loaded = serialization.load_pem_public_key(key_pem)
            if isinstance(loaded, Ed25519PublicKey):
                key = loaded
        except ValueError:
            key = None
        if key is None:
            report.add(PUBLIC_KEY, "not an Ed25519 public key")
        else:
            raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            report.fingerprint = fingerprint(raw)
            report.add(PUBLIC_KEY, check="Ed25519 public key")
            try:
                key.verify(signature, manifest_raw)
                report.add(MANIFEST, check="signature valid")
                report.add(SIGNATURE, check="signature valid")
            except InvalidSignature:
                report.add(MANIFEST, "the signature does not match: the manifest or its signature was changed")
                report.add(SIGNATURE, "does not match the manifest and key")
            trusted = {_as_fingerprint(k) for k in trusted_keys if k}
            if trusted:
                report.key_trusted = normalise_fingerprint(report.fingerprint) in trusted
                if not report.key_trusted:
                    report.add(PUBLIC_KEY, f"signed by an unknown key ({report.fingerprint})")

        try:
            manifest = json.loads(manifest_raw)
            if not isinstance(manifest, dict) or manifest.get("format") != BUNDLE_FORMAT:
                raise ValueError(f"not a {BUNDLE_FORMAT} manifest")
        except ValueError as exc:
            report.add(MANIFEST, f"unreadable ({exc})")
            return report
        case = manifest.get("case") or {}
        report.case_number = str(case.get("number", ""))
        report.ward = str((case.get("ward") or {}).get("slug", ""))
        report.created_at = str(manifest.get("created_at", ""))
        report.redacted = bool(manifest.get("redacted"))

        # 3. Files: listed = present, sizes and hashes.
        entries = [e for e in manifest.get("files", []) if isinstance(e, dict)]
        listed = {str(e.get("path")): e for e in entries}
        root_pem = ""
        deployment = manifest.get("deployment") or {}
        if C2PA_ROOT in members:
            root_raw = _member_bytes(archive, members[C2PA_ROOT], source)
            if hashlib.sha256(root_raw).hexdigest() != deployment.get("c2pa_root_sha256"):
                report.add(C2PA_ROOT, "differs from the root certificate named in the manifest")
            else:
                root_pem = root_raw.decode("ascii", "replace")
                report.add(C2PA_ROOT, check="SHA-256 matches the manifest")
        elif entries:
            report.add(C2PA_ROOT, "missing from the bundle")
        named = normalise_fingerprint(str(deployment.get("key_fingerprint") or ""))
        if named and report.fingerprint and named != normalise_fingerprint(report.fingerprint):
            report.add(PUBLIC_KEY, "differs from the key named in the manifest")
        known = {MANIFEST, SIGNATURE, PUBLIC_KEY, C2PA_ROOT}
        for name in sorted(set(members) - known - set(listed)):
            report.add(name, "not listed in the manifest (added)")
        for path, entry in listed.items():
            info = members.get(path)
            if info is None:
                report.add(path, "listed in the manifest but missing from the bundle")
                continue
            if info.file_size != entry.get("size"):
                # Not read at all: a wrong size already fails, and the manifest may be forged.
                report.add(path, f"size {info.file_size} bytes, the manifest says {entry.get('size')}")
                continue
            try:
                digest, _size = _hash_member(archive, info, source)
            except zipfile.BadZipFile as exc:
                report.add(path, f"damaged inside the zip ({exc})")
                continue
            if digest != entry.get("sha256"):
                report.add(path, "SHA-256 does not match the manifest (changed)")
            else:
                report.add(path, check="SHA-256 and size match")
            mime = C2PA_MIME.get("." + path.rsplit(".", 1)[-1].lower()) if "." in path else None
            if check_c2pa and entry.get("c2pa") and mime:
                if not root_pem:
                    report.add(path, "C2PA: no trusted root certificate in the bundle to check against")
                    continue
                with _member_stream(archive, info, source) as stream:
                    problems = _c2pa_check(stream, mime, root_pem, entry, report.case_number)
                for problem in problems:
                    report.add(path, problem)
                if not problems:
                    report.add(path, check="C2PA credentials trusted")

        # 4. Custody chain.
        custody = manifest.get("custody")
        if not isinstance(custody, list):
            report.add("custody log", "missing from the manifest")
        else:
            problems = custody_problems(custody)
            for problem in problems:
                report.add("custody log", problem)
            if not problems:
                report.add("custody log", check=f"{len(custody)} entries, hash chain intact")
    return report


def _as_fingerprint(value: str) -> str:
    if "BEGIN PUBLIC KEY" in value:
        return normalise_fingerprint(public_key_fingerprint(value.encode()))
    return normalise_fingerprint(value)


def render(report: Report) -> str:
    """The report as text for a terminal."""
    lines: list[str] = []
    if report.fatal:
        return f"NOT VERIFIED: {report.fatal}\n"
    if report.case_number:
        lines.append(f"Case {report.case_number} (ward {report.ward}), exported {report.created_at}")
    if report.fingerprint:
        if report.key_trusted is None:
            lines.append(
                f"Signed by key {report.fingerprint}\n"
                "  Origin NOT checked: compare this fingerprint with the one the portal shows, "
                "or pass --fingerprint/--key."
            )
        elif report.key_trusted:
            lines.append(f"Signed by the trusted key {report.fingerprint}")
        else:
            lines.append(f"SIGNED BY AN UNKNOWN KEY: {report.fingerprint}")
    for result in report.results:
        if result.ok:
            lines.append(f"  OK    {result.name}: {'; '.join(result.checks)}")
    for result in report.failed:
        for problem in result.problems:
            lines.append(f"  FAIL  {result.name}: {problem}")
    lines.append("INTACT" if report.ok else f"NOT VERIFIED: {len(report.failed)} item(s) do not match")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m incidents.verify", description=__doc__.split("\n\n")[0])
    parser.add_argument("bundle", help="the exported .zip")
    parser.add_argument("--key", help="PEM file of the public key the bundle must be signed with")
    parser.add_argument("--fingerprint", action="append", default=[], help="fingerprint of a trusted key (repeatable)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    trusted = list(args.fingerprint)
    if args.key:
        try:
            with open(args.key, "rb") as handle:
                trusted.append(public_key_fingerprint(handle.read()))
        except (OSError, ValueError) as exc:
            print(f"--key: cannot read an Ed25519 public key from {args.key} ({exc})", file=sys.stderr)
            return 2
    report = verify_bundle(args.bundle, trusted_keys=trusted)
    if args.json:
        print(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        sys.stdout.write(render(report))
    if report.fatal:
        return 2
    return 0 if report.ok else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
