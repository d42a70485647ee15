"""wireguard_keypair's main() in-process on real files under tmp_path.

Public keys are checked against RFC 7748's test vector and against libsodium's own API (PyNaCl's
PrivateKey, which clamps the scalar itself), not against the module's helper; and against `wg pubkey`
when wireguard-tools happen to be installed. The results are checked unmasked (mask_no_log=False): the
module itself must keep the private key out of them, not Ansible's no_log.
"""

import base64
import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import nacl.public
import pytest
from helpers import module_runner

from ansible_collections.wgops.fleet.plugins.modules import wireguard_keypair

# RFC 7748, section 6.1: Alice's private scalar and public key, as `wg` prints them (base64).
ALICE_PRIVATE = "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo="
ALICE_PUBLIC = "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo="
# RFC 7748, section 6.1: Bob's pair.
BOB_PRIVATE = base64.b64encode(
    bytes.fromhex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb")
).decode()
BOB_PUBLIC = base64.b64encode(
    bytes.fromhex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f")
).decode()
WG = shutil.which("wg")


def run(args, check_mode=False):
    return module_runner.run_module(wireguard_keypair.main, args, [], check_mode=check_mode, mask_no_log=False)


def libsodium_public(private_b64):
    return base64.b64encode(bytes(nacl.public.PrivateKey(base64.b64decode(private_b64)).public_key)).decode()


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def assert_secret_kept_out(result, *secrets):
    text = json.dumps(result)
    for secret in secrets:
        assert secret not in text
        # nor any recognisable piece of it (a truncated or re-wrapped copy)
        assert secret[:16] not in text


def write_key(path, text, mode=0o600):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)
    return path


def test_the_rfc7748_vectors_hold_for_the_independent_route():
    """The reference used below agrees with the RFC, so it is an independent check of the module."""
    assert libsodium_public(ALICE_PRIVATE) == ALICE_PUBLIC
    assert libsodium_public(BOB_PRIVATE) == BOB_PUBLIC


def test_first_run_generates_a_0600_key_and_returns_only_its_public_key(tmp_path):
    path = tmp_path / "etc" / "wireguard" / "wg0.key"
    result, failed = run({"path": str(path)})
    assert not failed
    assert result["changed"] is True and result["path"] == str(path)
    text = path.read_text()
    assert text.endswith("\n") and text.count("\n") == 1
    private = text.strip()
    raw = base64.b64decode(private, validate=True)
    assert len(private) == 44 and len(raw) == 32
    # clamped the way `wg genkey` does (RFC 7748 decodeScalar25519)
    assert raw[0] & 7 == 0 and raw[31] & 0x80 == 0 and raw[31] & 0x40 == 0x40
    assert result["public_key"] == libsodium_public(private)
    if WG is not None:  # wireguard-tools installed: what `wg pubkey` prints, too
        printed = subprocess.run([WG, "pubkey"], input=text.encode(), capture_output=True, check=True).stdout
        assert result["public_key"] == printed.decode().strip()
    assert mode_of(path) == 0o600
    assert mode_of(path.parent) == 0o700  # the directory it made for the key
    assert os.listdir(path.parent) == ["wg0.key"]  # no temporary file left behind
    assert_secret_kept_out(result, private)
    assert set(result) == {"changed", "public_key", "path"}


def test_the_new_key_belongs_to_root_when_run_as_root_else_to_the_user(tmp_path):
    path = tmp_path / "wg0.key"
    result, failed = run({"path": str(path)})
    assert not failed and result["changed"] is True
    info = os.stat(path)
    expected = (0, 0) if os.geteuid() == 0 else (os.getuid(), os.getgid())
    assert (info.st_uid, info.st_gid) == expected


def test_as_root_a_key_owned_by_someone_else_is_given_back_to_root(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root to chown the file away first")
    path = write_key(tmp_path / "wg0.key", ALICE_PRIVATE + "\n")
    os.chown(path, 1234, 1234)
    result, failed = run({"path": str(path)})
    assert not failed
    assert result["changed"] is True and result["public_key"] == ALICE_PUBLIC
    info = os.stat(path)
    assert (info.st_uid, info.st_gid) == (0, 0) and mode_of(path) == 0o600
    assert path.read_text() == ALICE_PRIVATE + "\n"


def test_not_as_root_the_owner_is_left_alone(tmp_path, monkeypatch):
    """On a controller the key belongs to its user: only the mode is enforced."""
    path = write_key(tmp_path / "wg0.key", ALICE_PRIVATE + "\n")
    if os.geteuid() == 0:
        os.chown(path, 4321, 4321)
    owner = os.stat(path).st_uid, os.stat(path).st_gid
    monkeypatch.setattr(os, "geteuid", lambda: 1234)
    result, failed = run({"path": str(path)})
    assert not failed
    assert result["changed"] is False and result["public_key"] == ALICE_PUBLIC
    assert (os.stat(path).st_uid, os.stat(path).st_gid) == owner


def test_a_second_run_changes_nothing_and_returns_the_same_public_key(tmp_path):
    path = tmp_path / "wg0.key"
    first, _ignored = run({"path": str(path)})
    before = path.read_bytes(), os.stat(path).st_ino, os.stat(path).st_mtime_ns
    second, failed = run({"path": str(path)})
    assert not failed
    assert second["changed"] is False
    assert second["public_key"] == first["public_key"]
    assert (path.read_bytes(), os.stat(path).st_ino, os.stat(path).st_mtime_ns) == before


def test_each_node_gets_its_own_key(tmp_path):
    one, _ignored = run({"path": str(tmp_path / "a.key")})
    two, _ignored = run({"path": str(tmp_path / "b.key")})
    assert one["public_key"] != two["public_key"]
    assert (tmp_path / "a.key").read_text() != (tmp_path / "b.key").read_text()


def test_check_mode_reports_the_change_and_writes_nothing(tmp_path):
    path = tmp_path / "new" / "wg0.key"
    result, failed = run({"path": str(path)}, check_mode=True)
    assert not failed
    assert result == {"changed": True, "public_key": None, "path": str(path)}
    assert not path.parent.exists()


def test_an_existing_key_is_kept_and_its_public_key_returned(tmp_path):
    path = write_key(tmp_path / "wg0.key", ALICE_PRIVATE + "\n")
    for check_mode in (True, False):
        result, failed = run({"path": str(path)}, check_mode=check_mode)
        assert not failed
        assert result == {"changed": False, "public_key": ALICE_PUBLIC, "path": str(path)}
    assert path.read_text() == ALICE_PRIVATE + "\n"


@pytest.mark.parametrize("content", [BOB_PRIVATE, f"  {BOB_PRIVATE}\r\n\n"], ids=["no-newline", "blanks-crlf"])
def test_an_existing_key_without_trailing_newline_or_with_blanks_is_read(tmp_path, content):
    path = tmp_path / "wg0.key"
    path.write_bytes(content.encode())
    path.chmod(0o600)
    result, failed = run({"path": str(path)})
    assert not failed
    assert result["changed"] is False and result["public_key"] == BOB_PUBLIC
    assert path.read_bytes() == content.encode()  # read, not rewritten


def test_a_key_readable_by_others_is_made_0600(tmp_path):
    path = write_key(tmp_path / "wg0.key", ALICE_PRIVATE + "\n", mode=0o644)
    result, failed = run({"path": str(path)}, check_mode=True)
    assert not failed and result["changed"] is True and result["public_key"] == ALICE_PUBLIC
    assert mode_of(path) == 0o644  # check mode only predicts
    result, failed = run({"path": str(path)})
    assert not failed and result["changed"] is True and result["public_key"] == ALICE_PUBLIC
    assert mode_of(path) == 0o600
    assert path.read_text() == ALICE_PRIVATE + "\n"
    again, _ignored = run({"path": str(path)})
    assert again["changed"] is False


@pytest.mark.parametrize(
    "content",
    [
        "not a key\n",
        "",
        ALICE_PRIVATE[:-2] + "\n",  # truncated
        base64.b64encode(bytes(33)).decode() + "\n",  # 33 bytes
        "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VuBCIEIHcHbQpzGKV9PBbBclGyZkXfTC+H68CZKrF3+6UduSwq\n",
    ],
    ids=["text", "empty", "truncated", "33-bytes", "pem"],
)
def test_a_corrupt_key_file_fails_and_is_left_as_it_is(tmp_path, content):
    """Documented: an existing key is never regenerated; the message says to move the file away."""
    path = write_key(tmp_path / "wg0.key", content)
    for check_mode in (True, False):
        result, failed = run({"path": str(path)}, check_mode=check_mode)
        assert failed
        assert result["msg"].startswith(f"{path} does not hold a WireGuard private key (")
        assert result["msg"].endswith("move it away to have a new one made")
        assert path.read_text() == content
        assert os.listdir(tmp_path) == ["wg0.key"]
        for line in content.splitlines():
            if len(line) > 8:
                assert line not in json.dumps(result)


def test_an_undecodable_key_file_fails_naming_it(tmp_path):
    path = tmp_path / "wg0.key"
    path.write_bytes(b"\xff\xfe" + bytes(40))
    result, failed = run({"path": str(path)})
    assert failed
    assert result["msg"].startswith(f"cannot read {path}: ")
    assert path.read_bytes() == b"\xff\xfe" + bytes(40)


def test_a_given_private_key_is_installed_and_never_returned(tmp_path):
    path = tmp_path / "wg" / "wg0.key"
    result, failed = run({"path": str(path), "private_key": ALICE_PRIVATE + "\n"})  # as a vault file gives it
    assert not failed
    assert result == {"changed": True, "public_key": ALICE_PUBLIC, "path": str(path)}
    assert path.read_text() == ALICE_PRIVATE + "\n"
    assert mode_of(path) == 0o600
    assert_secret_kept_out(result, ALICE_PRIVATE)
    again, failed = run({"path": str(path), "private_key": ALICE_PRIVATE})
    assert not failed and again == {"changed": False, "public_key": ALICE_PUBLIC, "path": str(path)}


def test_a_given_private_key_replaces_a_different_one(tmp_path):
    path = write_key(tmp_path / "wg0.key", ALICE_PRIVATE + "\n")
    result, failed = run({"path": str(path), "private_key": BOB_PRIVATE}, check_mode=True)
    assert not failed
    assert result == {"changed": True, "public_key": BOB_PUBLIC, "path": str(path)}
    assert path.read_text() == ALICE_PRIVATE + "\n"  # check mode
    result, failed = run({"path": str(path), "private_key": BOB_PRIVATE})
    assert not failed
    assert result == {"changed": True, "public_key": BOB_PUBLIC, "path": str(path)}
    assert path.read_text() == BOB_PRIVATE + "\n"
    assert mode_of(path) == 0o600
    assert_secret_kept_out(result, ALICE_PRIVATE, BOB_PRIVATE)


@pytest.mark.parametrize("content", [b"garbage\n", b"", b"\xff\xfe" + bytes(40)], ids=["text", "empty", "undecodable"])
def test_a_given_private_key_replaces_a_file_that_holds_no_key(tmp_path, content):
    """Documented: O(private_key) is written instead, replacing a different one (whatever is there)."""
    path = tmp_path / "wg0.key"
    path.write_bytes(content)
    path.chmod(0o644)
    result, failed = run({"path": str(path), "private_key": ALICE_PRIVATE}, check_mode=True)
    assert not failed and result == {"changed": True, "public_key": ALICE_PUBLIC, "path": str(path)}
    assert path.read_bytes() == content  # check mode
    result, failed = run({"path": str(path), "private_key": ALICE_PRIVATE})
    assert not failed and result == {"changed": True, "public_key": ALICE_PUBLIC, "path": str(path)}
    assert path.read_text() == ALICE_PRIVATE + "\n"
    assert mode_of(path) == 0o600
    assert os.listdir(tmp_path) == ["wg0.key"]
    assert_secret_kept_out(result, ALICE_PRIVATE)


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        ("short", "private_key must be 44 base64 characters ending in '=' (32 bytes)"),
        (ALICE_PRIVATE[:-1] + "A", "private_key must be 44 base64 characters ending in '=' (32 bytes)"),
        ("!" + ALICE_PRIVATE[1:], "private_key is not valid base64 ("),
    ],
    ids=["short", "no-padding", "bad-character"],
)
def test_a_malformed_private_key_fails_without_showing_it(tmp_path, bad, why):
    path = tmp_path / "wg0.key"
    result, failed = run({"path": str(path), "private_key": bad})
    assert failed
    assert result["msg"].startswith(why)
    assert bad not in result["msg"]
    assert not path.exists()


def test_state_absent_removes_the_key(tmp_path):
    path = write_key(tmp_path / "wg0.key", ALICE_PRIVATE + "\n")
    result, failed = run({"path": str(path), "state": "absent"}, check_mode=True)
    assert not failed and result == {"changed": True, "public_key": None, "path": str(path)}
    assert path.exists()
    result, failed = run({"path": str(path), "state": "absent"})
    assert not failed and result == {"changed": True, "public_key": None, "path": str(path)}
    assert not path.exists()
    result, failed = run({"path": str(path), "state": "absent"})
    assert not failed and result["changed"] is False


def test_state_absent_removes_a_dangling_symlink(tmp_path):
    path = tmp_path / "wg0.key"
    path.symlink_to(tmp_path / "gone")
    result, failed = run({"path": str(path), "state": "absent"})
    assert not failed and result["changed"] is True
    assert not os.path.lexists(path)


def test_a_relative_path_in_the_current_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result, failed = run({"path": "wg0.key"})
    assert not failed and result["changed"] is True
    assert (tmp_path / "wg0.key").exists() and mode_of(tmp_path / "wg0.key") == 0o600
    assert os.listdir(tmp_path) == ["wg0.key"]
    again, failed = run({"path": "wg0.key", "private_key": ALICE_PRIVATE})
    assert not failed and again == {"changed": True, "public_key": ALICE_PUBLIC, "path": "wg0.key"}
    assert (tmp_path / "wg0.key").read_text() == ALICE_PRIVATE + "\n"


def test_state_absent_refuses_a_directory(tmp_path):
    directory = tmp_path / "wireguard"
    directory.mkdir()
    (directory / "wg0.key").write_text(ALICE_PRIVATE + "\n")
    for check_mode in (True, False):
        result, failed = run({"path": str(directory), "state": "absent"}, check_mode=check_mode)
        assert failed
        assert result["msg"] == f"{directory} is a directory, not a key file; give the path of the key file itself"
    assert (directory / "wg0.key").read_text() == ALICE_PRIVATE + "\n"


def test_the_key_goes_through_a_new_0600_temporary_file_in_the_same_directory(tmp_path, monkeypatch):
    """Atomic: written to a fresh file (mkstemp: O_EXCL, 0600) beside the key, then renamed over it."""
    path = write_key(tmp_path / "wg0.key", ALICE_PRIVATE + "\n")
    leftover = tmp_path / "wg0.key.tmp"  # a stray file under a guessable name is neither used nor touched
    leftover.write_text("stray")
    leftover.chmod(0o644)
    seen = []
    real_replace = os.replace

    def replace(src, dst):
        seen.append((os.path.dirname(src), mode_of(src), Path(src).read_text(), dst))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    result, failed = run({"path": str(path), "private_key": BOB_PRIVATE})
    assert not failed and result["changed"] is True
    assert seen == [(str(tmp_path), 0o600, BOB_PRIVATE + "\n", str(path))]
    assert path.read_text() == BOB_PRIVATE + "\n"
    assert leftover.read_text() == "stray" and mode_of(leftover) == 0o644
    assert sorted(os.listdir(tmp_path)) == ["wg0.key", "wg0.key.tmp"]


@pytest.mark.parametrize("failing", ["fsync", "replace"])
def test_a_failed_write_fails_cleanly_and_leaves_no_piece_of_a_key(tmp_path, monkeypatch, failing):
    path = write_key(tmp_path / "wg0.key", ALICE_PRIVATE + "\n")

    def broken(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, failing, broken)
    result, failed = run({"path": str(path), "private_key": BOB_PRIVATE})
    assert failed
    assert result["msg"] == f"cannot write {path}: [Errno 28] No space left on device"
    assert os.listdir(tmp_path) == ["wg0.key"]  # the temporary file is gone
    assert path.read_text() == ALICE_PRIVATE + "\n"  # the old key is intact
    assert_secret_kept_out(result, ALICE_PRIVATE, BOB_PRIVATE)


def test_a_key_directory_that_cannot_be_made_fails_naming_it(tmp_path, monkeypatch):
    path = tmp_path / "etc" / "wireguard" / "wg0.key"

    def makedirs(name, mode=0o777, exist_ok=False):
        raise PermissionError(13, "Permission denied", name)

    monkeypatch.setattr(os, "makedirs", makedirs)
    result, failed = run({"path": str(path)})
    assert failed
    assert result["msg"] == f"cannot write {path}: [Errno 13] Permission denied: '{path.parent}'"
    assert os.listdir(tmp_path) == []
