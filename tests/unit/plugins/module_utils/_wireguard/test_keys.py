"""Key derivation, decoding and per-pair preshared keys (plugins/module_utils/_wireguard/keys.py)."""

import base64

import nacl.public
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.wgops.fleet.plugins.module_utils._wireguard import keys

# RFC 7748, section 6.1: Alice's private scalar and public key.
RFC7748_ALICE_PRIVATE = bytes.fromhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
RFC7748_ALICE_PUBLIC = bytes.fromhex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")
# RFC 7748, section 6.1: Bob's pair, a second independent vector.
RFC7748_BOB_PRIVATE = bytes.fromhex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb")
RFC7748_BOB_PUBLIC = bytes.fromhex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f")

raw_keys = st.binary(min_size=32, max_size=32)


def b64(raw):
    return base64.b64encode(raw).decode("ascii")


def libsodium_public(raw):
    """Public key as PyNaCl's own API computes it (libsodium clamps the scalar itself)."""
    return bytes(nacl.public.PrivateKey(raw).public_key)


@pytest.mark.parametrize(
    ("private", "public"),
    [(RFC7748_ALICE_PRIVATE, RFC7748_ALICE_PUBLIC), (RFC7748_BOB_PRIVATE, RFC7748_BOB_PUBLIC)],
    ids=["alice", "bob"],
)
def test_rfc7748_vectors(private, public):
    assert keys.public_key(b64(private)) == b64(public)
    assert keys.public_key_pure(b64(private)) == b64(public)


def test_rfc7748_alice_vector_as_base64():
    assert (
        keys.public_key("dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo=")
        == "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo="
    )


@given(raw_keys)
def test_public_key_matches_libsodium_and_pure_python(raw):
    expected = b64(libsodium_public(raw))
    assert keys.public_key(b64(raw)) == expected
    assert keys.public_key_pure(b64(raw)) == expected


def test_public_key_without_nacl_uses_pure_python(monkeypatch):
    monkeypatch.setattr(keys, "HAS_NACL", False)
    assert keys.public_key(b64(RFC7748_ALICE_PRIVATE)) == b64(RFC7748_ALICE_PUBLIC)


def test_generated_private_keys_are_clamped_and_distinct():
    generated = {keys.generate_private_key() for _attempt in range(20)}
    assert len(generated) == 20
    for text in generated:
        raw = keys.decode_key(text)
        assert raw[0] & 7 == 0
        assert raw[31] & 0x80 == 0
        assert raw[31] & 0x40
        assert keys.public_key(text) == b64(libsodium_public(raw))


@given(raw_keys)
def test_decode_key_round_trip(raw):
    text = b64(raw)
    assert len(text) == 44
    assert keys.decode_key(text) == raw
    assert keys.decode_key(f"  {text}\n") == raw  # what `wg pubkey` prints, newline included
    assert keys.is_valid_key(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        b64(bytes(31)),  # 44 characters ending in '==': 31 bytes
        b64(bytes(33)),  # 44 characters, no padding
        b64(bytes(32))[:-1],  # 43 characters
        b64(bytes(32)) + "A",  # 45 characters
        b64(bytes(64)),  # 88 characters
    ],
    ids=["empty", "31-bytes", "33-bytes", "43-chars", "45-chars", "64-bytes"],
)
def test_decode_key_rejects_wrong_length(text):
    with pytest.raises(keys.InvalidKeyError):
        keys.decode_key(text)
    assert not keys.is_valid_key(text)


@pytest.mark.parametrize(
    "text",
    ["!" * 43 + "=", "A" * 20 + " " + "A" * 22 + "=", "A" * 42 + "-=", "A" * 42 + "_=", "=" + "A" * 43],
    ids=["punctuation", "inner-space", "urlsafe-dash", "urlsafe-underscore", "leading-padding"],
)
def test_decode_key_rejects_bad_base64(text):
    assert len(text) == 44
    with pytest.raises(keys.InvalidKeyError):
        keys.decode_key(text)
    assert not keys.is_valid_key(text)


@pytest.mark.parametrize("value", [None, 42, b64(bytes(32)).encode("ascii"), bytes(32), ["x"]])
def test_decode_key_rejects_non_strings(value):
    with pytest.raises(keys.InvalidKeyError):
        keys.decode_key(value)
    assert not keys.is_valid_key(value)


def test_invalid_key_error_is_a_value_error():
    assert issubclass(keys.InvalidKeyError, ValueError)


SECRET = "correct horse battery staple"


@given(raw_keys, raw_keys)
def test_preshared_key_is_symmetric_and_a_valid_key(raw_a, raw_b):
    a, b = keys.public_key(b64(raw_a)), keys.public_key(b64(raw_b))
    if a == b:
        return
    psk = keys.derive_preshared_key(SECRET, a, b)
    assert psk == keys.derive_preshared_key(SECRET, b, a)
    assert keys.is_valid_key(psk)
    assert psk not in (a, b)


def test_preshared_key_differs_per_pair():
    publics = [keys.public_key(b64(bytes([i]) * 32)) for i in range(1, 7)]
    derived = {frozenset((a, b)): keys.derive_preshared_key(SECRET, a, b) for a in publics for b in publics if a != b}
    assert len(derived) == 15
    assert len(set(derived.values())) == 15


def test_preshared_key_differs_per_secret():
    a, b = b64(RFC7748_ALICE_PUBLIC), b64(RFC7748_BOB_PUBLIC)
    psks = {keys.derive_preshared_key(secret, a, b) for secret in (SECRET, SECRET + "!", "x" * 16, "y" * 16)}
    assert len(psks) == 4


def test_preshared_key_is_deterministic():
    a, b = b64(RFC7748_ALICE_PUBLIC), b64(RFC7748_BOB_PUBLIC)
    assert keys.derive_preshared_key(SECRET, a, b) == keys.derive_preshared_key(SECRET, a, b)


@pytest.mark.parametrize("secret", ["", "x" * 15, None, b"x" * 32, 12345678901234567890])
def test_preshared_key_rejects_short_or_non_string_secret(secret):
    with pytest.raises(ValueError, match="secret"):
        keys.derive_preshared_key(secret, b64(RFC7748_ALICE_PUBLIC), b64(RFC7748_BOB_PUBLIC))


def test_preshared_key_accepts_sixteen_character_secret():
    assert keys.is_valid_key(keys.derive_preshared_key("x" * 16, b64(RFC7748_ALICE_PUBLIC), b64(RFC7748_BOB_PUBLIC)))


def test_preshared_key_rejects_identical_keys():
    a = b64(RFC7748_ALICE_PUBLIC)
    with pytest.raises(ValueError, match="different"):
        keys.derive_preshared_key(SECRET, a, a)
    # the same key spelled with surrounding whitespace is still the same key
    with pytest.raises(ValueError, match="different"):
        keys.derive_preshared_key(SECRET, a, f" {a}\n")


def test_preshared_key_rejects_malformed_public_key():
    with pytest.raises(keys.InvalidKeyError):
        keys.derive_preshared_key(SECRET, b64(RFC7748_ALICE_PUBLIC), "not-a-key")


def test_documented_psk_secret_minimum_is_what_derivation_needs():
    """docs/inventory.md promises 16+ characters; the planner refuses shorter secrets with this constant."""
    assert keys.PSK_SECRET_MIN_LENGTH == 16
    short = "x" * (keys.PSK_SECRET_MIN_LENGTH - 1)
    with pytest.raises(ValueError, match="at least 16 characters"):
        keys.derive_preshared_key(short, b64(RFC7748_ALICE_PUBLIC), b64(RFC7748_BOB_PUBLIC))
