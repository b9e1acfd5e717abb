"""Optional Ed25519 signature over a run's SHA256SUMS: who made these result files.

SHA256SUMS already makes a changed file evident; the signature makes a changed SHA256SUMS
evident too, to anyone holding the bench's public key. The private key stays on the bench
(named in the station file, `[signing] key_file`); the public key goes to the certification
body, which runs `hpbench verify RUNDIR --public-key bench.pub`.
"""

from __future__ import annotations

import base64
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from bench.export import atomic
from bench.export.sums import SUMS_NAME

SIG_NAME = "SHA256SUMS.sig"


class SigningError(Exception):
    """A key that cannot be read or is not Ed25519; str() names the file."""


def _load(path: Path, private: bool) -> Ed25519PrivateKey | Ed25519PublicKey:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise SigningError(f"{path}: cannot read key: {exc.strerror or exc}") from None
    try:
        key = (
            serialization.load_pem_private_key(data, password=None)
            if private
            else serialization.load_pem_public_key(data)
        )
    except (ValueError, TypeError) as exc:
        raise SigningError(
            f"{path}: not a PEM {'private' if private else 'public'} key: {exc}"
        ) from None
    wanted = Ed25519PrivateKey if private else Ed25519PublicKey
    if not isinstance(key, wanted):
        raise SigningError(f"{path}: not an Ed25519 key")
    return key


def generate_key(private_path: Path, public_path: Path) -> None:
    """A new key pair, PEM: the private key readable by its owner only."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    atomic.write_bytes(Path(private_path), private, mode=0o600)
    atomic.write_bytes(Path(public_path), public)


def sign_sums(run_dir: Path, key_file: Path) -> Path:
    key = _load(key_file, private=True)
    assert isinstance(key, Ed25519PrivateKey)
    signature = key.sign((run_dir / SUMS_NAME).read_bytes())
    path = run_dir / SIG_NAME
    atomic.write_text(path, base64.b64encode(signature).decode("ascii") + "\n")
    return path


def signature_problems(run_dir: Path, public_key_file: Path) -> list[str]:
    """Empty when SHA256SUMS.sig is a valid signature of SHA256SUMS by that key."""
    key = _load(public_key_file, private=False)
    assert isinstance(key, Ed25519PublicKey)
    try:
        text = (run_dir / SIG_NAME).read_text(encoding="ascii")
        signature = base64.b64decode(text.strip(), validate=True)
        sums = (run_dir / SUMS_NAME).read_bytes()
    except FileNotFoundError as exc:
        return [f"{Path(exc.filename).name}: missing"]
    except (OSError, ValueError) as exc:
        return [f"{SIG_NAME}: unreadable: {exc}"]
    try:
        key.verify(signature, sums)
    except InvalidSignature:
        return [f"{SIG_NAME}: does not match SHA256SUMS and the public key {public_key_file}"]
    return []
