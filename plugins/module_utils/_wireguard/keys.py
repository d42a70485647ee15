# Copyright: wgops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""WireGuard key handling: generation, public-key derivation, validation and per-pair preshared keys.

Pure Python, no Ansible imports. Uses PyNaCl (libsodium) when it is importable, as on the controller,
and falls back to an RFC 7748 X25519 implementation so managed nodes need nothing extra.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os

try:  # pragma: no cover - exercised by whichever interpreter runs the tests
    from nacl.bindings import crypto_scalarmult_base as _nacl_scalarmult_base

    HAS_NACL = True
except ImportError:  # pragma: no cover
    _nacl_scalarmult_base = None  # type: ignore[assignment]
    HAS_NACL = False

KEY_BYTES = 32
_P = 2**255 - 19
_A24 = 121665
_PSK_CONTEXT = b"wgops.fleet preshared key v1\x00"
# The shortest `wireguard_psk_secret` accepted (docs/inventory.md; the planner refuses shorter ones).
PSK_SECRET_MIN_LENGTH = 16


class InvalidKeyError(ValueError):
    """A WireGuard key that is not 32 bytes of standard base64."""


def decode_key(text: str) -> bytes:
    """Decode a base64 WireGuard key, raising InvalidKeyError unless it is exactly 32 bytes."""
    if not isinstance(text, str):
        raise InvalidKeyError("must be a string of 44 base64 characters")
    stripped = text.strip()
    if len(stripped) != 44 or not stripped.endswith("="):
        raise InvalidKeyError("must be 44 base64 characters ending in '=' (32 bytes)")
    try:
        raw = base64.b64decode(stripped, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidKeyError(f"is not valid base64 ({exc})") from None
    if len(raw) != KEY_BYTES:
        raise InvalidKeyError("does not decode to 32 bytes")
    return raw


def is_valid_key(text: object) -> bool:
    try:
        decode_key(text)  # type: ignore[arg-type]
    except InvalidKeyError:
        return False
    return True


def encode_key(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def clamp(raw: bytes) -> bytes:
    """Clamp a 32-byte scalar the way `wg genkey` does."""
    scalar = bytearray(raw)
    scalar[0] &= 248
    scalar[31] &= 127
    scalar[31] |= 64
    return bytes(scalar)


def generate_private_key() -> str:
    return encode_key(clamp(os.urandom(KEY_BYTES)))


def _x25519_base(scalar: bytes) -> bytes:
    """X25519(scalar, 9) by the Montgomery ladder of RFC 7748, section 5."""
    k = int.from_bytes(clamp(scalar), "little")
    x1 = 9
    x2, z2, x3, z3 = 1, 0, x1, 1
    swap = 0
    for t in reversed(range(255)):
        bit = (k >> t) & 1
        swap ^= bit
        if swap:
            x2, x3, z2, z3 = x3, x2, z3, z2
        swap = bit
        a = (x2 + z2) % _P
        aa = a * a % _P
        b = (x2 - z2) % _P
        bb = b * b % _P
        e = (aa - bb) % _P
        c = (x3 + z3) % _P
        d = (x3 - z3) % _P
        da = d * a % _P
        cb = c * b % _P
        x3 = (da + cb) ** 2 % _P
        z3 = x1 * (da - cb) ** 2 % _P
        x2 = aa * bb % _P
        z2 = e * (aa + _A24 * e) % _P
    if swap:
        x2, z2 = x3, z3
    return (x2 * pow(z2, _P - 2, _P) % _P).to_bytes(KEY_BYTES, "little")


def public_key_pure(private_key: str) -> str:
    """Public key from a private key without libsodium."""
    return encode_key(_x25519_base(decode_key(private_key)))


def public_key(private_key: str) -> str:
    """Public key from a base64 private key (what `wg pubkey` prints)."""
    raw = decode_key(private_key)
    if HAS_NACL:
        return encode_key(_nacl_scalarmult_base(clamp(raw)))
    return encode_key(_x25519_base(raw))


def derive_preshared_key(secret: str, public_key_a: str, public_key_b: str) -> str:
    """A per-pair preshared key both ends compute alike from one shared secret.

    HMAC-SHA256 keyed by the secret over the two public keys in sorted order, so the result does not
    depend on which side asks, and nothing has to be stored per pair.
    """
    if not isinstance(secret, str) or len(secret) < PSK_SECRET_MIN_LENGTH:
        raise ValueError(f"the preshared-key secret must be a string of at least {PSK_SECRET_MIN_LENGTH} characters")
    first, second = sorted((decode_key(public_key_a), decode_key(public_key_b)))
    if first == second:
        raise ValueError("a preshared key needs two different public keys")
    digest = hmac.new(secret.encode("utf-8"), _PSK_CONTEXT + first + second, hashlib.sha256).digest()
    return encode_key(digest)
