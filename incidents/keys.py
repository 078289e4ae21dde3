"""The deployment's signing keys, made once at set-up (``manage.py make_signing_keys``) or on first use.

In ``SIGNING_KEY_DIR`` (default ``VAR_DIR/keys``), each file mode 0600:

* ``manifest_ed25519.pem`` — the Ed25519 private key that signs every bundle's ``manifest.json``;
  its public half is shipped in each bundle and its fingerprint (SHA-256 of the raw public key) is
  shown in the portal, which is how a reader of a bundle learns whether it came from this deployment;
* ``c2pa_root.pem`` (+ ``c2pa_root_key.pem``) — a private root CA (CA:true, keyCertSign), and
  ``c2pa_signer.pem`` + ``c2pa_signer_key.pem`` — the leaf it issued (CA:false, digitalSignature,
  Authority Key Identifier, EKU emailProtection + documentSigning + C2PA claimSigning) that signs the
  content credentials of exported media. Both live 30 years: offline there is no timestamp authority.

Creation takes a file lock and moves each finished file into place with ``os.replace``, so two
processes that start at once end up with the same keys, and a half-written key never exists.
"""

from __future__ import annotations

import datetime
import fcntl
import os
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

from incidents.verify import fingerprint

MANIFEST_KEY = "manifest_ed25519.pem"
ROOT_CERT = "c2pa_root.pem"
ROOT_KEY = "c2pa_root_key.pem"
SIGNER_CERT = "c2pa_signer.pem"
SIGNER_KEY = "c2pa_signer_key.pem"
ALL_FILES = (MANIFEST_KEY, ROOT_CERT, ROOT_KEY, SIGNER_CERT, SIGNER_KEY)
DOCUMENT_SIGNING = ObjectIdentifier("1.3.6.1.5.5.7.3.36")
C2PA_CLAIM_SIGNING = ObjectIdentifier("1.3.6.1.4.1.62558.2.1")
LIFETIME = datetime.timedelta(days=365 * 30)


@dataclass(frozen=True)
class DeploymentKeys:
    """The keys as loaded: what signing a bundle needs."""

    manifest_key: Ed25519PrivateKey
    c2pa_chain_pem: bytes  # leaf then root
    c2pa_key_pem: bytes
    c2pa_root_pem: bytes

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.manifest_key.public_key()

    @property
    def public_key_pem(self) -> bytes:
        return self.public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))


def _private_pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Mat Than camera centre"),
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
        ]
    )


def _usage(*, signature: bool = False, cert_sign: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=signature,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def make_c2pa_chain() -> dict[str, bytes]:
    """A fresh root CA and the leaf it issues for C2PA signing (PEM bytes by file name)."""
    now = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=1)
    root_key, leaf_key = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    root_name, leaf_name = _name("Mat Than evidence root CA"), _name("Mat Than evidence signer")
    root = (
        x509.CertificateBuilder()
        .subject_name(root_name)
        .issuer_name(root_name)
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), critical=False)
        .sign(root_key, None)
    )
    leaf = (
        x509.CertificateBuilder()
        .subject_name(leaf_name)
        .issuer_name(root_name)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + LIFETIME - datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(signature=True), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION, DOCUMENT_SIGNING, C2PA_CLAIM_SIGNING]),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(leaf_key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), critical=False)
        .sign(root_key, None)
    )
    return {
        ROOT_CERT: root.public_bytes(serialization.Encoding.PEM),
        ROOT_KEY: _private_pem(root_key),
        SIGNER_CERT: leaf.public_bytes(serialization.Encoding.PEM),
        SIGNER_KEY: _private_pem(leaf_key),
    }


def _write_atomic(directory: Path, name: str, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{name}.")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, directory / name)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def ensure_keys(directory: Path) -> list[str]:
    """Make whatever keys are missing in ``directory``; return the names of the files made (idempotent)."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    made: list[str] = []
    with open(directory / ".lock", "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not (directory / MANIFEST_KEY).exists():
                _write_atomic(directory, MANIFEST_KEY, _private_pem(Ed25519PrivateKey.generate()))
                made.append(MANIFEST_KEY)
            if not all((directory / name).exists() for name in (ROOT_CERT, SIGNER_CERT, SIGNER_KEY)):
                # The chain is made as a whole: a leaf must be issued by the root beside it.
                chain = make_c2pa_chain()
                for name in (ROOT_KEY, ROOT_CERT, SIGNER_KEY, SIGNER_CERT):
                    _write_atomic(directory, name, chain[name])
                    made.append(name)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return made


def load_keys(directory: Path) -> DeploymentKeys:
    """The keys in ``directory``, made first where missing."""
    if not all((directory / name).exists() for name in (MANIFEST_KEY, ROOT_CERT, SIGNER_CERT, SIGNER_KEY)):
        ensure_keys(directory)
    key = serialization.load_pem_private_key((directory / MANIFEST_KEY).read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{directory / MANIFEST_KEY} is not an Ed25519 private key")
    root = (directory / ROOT_CERT).read_bytes()
    return DeploymentKeys(
        manifest_key=key,
        c2pa_chain_pem=(directory / SIGNER_CERT).read_bytes() + root,
        c2pa_key_pem=(directory / SIGNER_KEY).read_bytes(),
        c2pa_root_pem=root,
    )


def key_dir() -> Path:
    from django.conf import settings

    return Path(settings.SIGNING_KEY_DIR)


@lru_cache(maxsize=4)
def _cached(directory: str, stamp: float) -> DeploymentKeys:
    return load_keys(Path(directory))


def deployment_keys() -> DeploymentKeys:
    """This deployment's keys (made on first use), re-read when the key file changes."""
    directory = key_dir()
    path = directory / MANIFEST_KEY
    try:
        stamp = path.stat().st_mtime
    except FileNotFoundError:
        ensure_keys(directory)
        stamp = path.stat().st_mtime
    return _cached(str(directory), stamp)
