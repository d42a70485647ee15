"""The secret scanner of scenario `secrets`: it finds each kind of secret, in the forms a leak takes."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import pytest
import secret_scan  # tests/testbed/secret_scan.py (conftest.py)

SCRIPT = Path(__file__).resolve().parents[2] / "testbed" / "secret_scan.py"

# Test-only values (never used anywhere real).
WG_PRIVATE = "kPmXd4PyqDh1dCkz0T+ulGPDOVXdeGxYT5q1Xq3uR1M="
WG_PSK = "Zs0B2U4nOQz7pP2v9nq2I1vJyY4w0Jk3rT6fQ8yHc1E="
WG_PUBLIC = "SS8cuFhH/8e7Qnhl9kxegEHsBJmzeh2pRaFbQQKvAn4="
HEX = "9f" * 32
PEM_BODY = [
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgv2Vt8mUu9m3xNnQ6",
    "u6xrk7x0S3kq3aP0z3wT4m2y0xKhRANCAAQ0c9VbI7Q9m2J8qv3k4r5x1Fz6eYl",
    "Jn8Yc2w5p1Q0",
]
PEM = "-----BEGIN PRIVATE KEY-----\n" + "\n".join(PEM_BODY) + "\n-----END PRIVATE KEY-----\n"
HSKEY = "hskey-auth-cPizzlj9wABC-aENmF3rU02f-lurzruM8gnE1HdWBL6JRUXSWSfDY16WBzMoY8iYBKps-LiFJrInN"


@pytest.fixture
def host(tmp_path: Path) -> Path:
    """A host's file system with one secret of each kind, and decoys that are not secrets."""
    root = tmp_path / "host"
    (root / "etc/wireguard").mkdir(parents=True)
    (root / "etc/wireguard/wg0.key").write_text(WG_PRIVATE + "\n")
    (root / "etc/wireguard/wg0.conf").write_text(
        f"[Interface]\nPrivateKey = {WG_PRIVATE}\n[Peer]\nPublicKey = {WG_PUBLIC}\nPresharedKey = {WG_PSK}\n"
    )
    (root / "etc/wireguard/wg0.pub").write_text(WG_PUBLIC + "\n")
    (root / "var/lib/headscale").mkdir(parents=True)
    (root / "var/lib/headscale/noise_private.key").write_text(f"privkey:{HEX}\n")
    (root / "etc/headscale").mkdir(parents=True)
    (root / "etc/headscale/headscale.key").write_text(PEM)
    (root / "etc/headscale/headscale.crt").write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    profile = json.dumps({"PrivateNodeKey": "privkey:" + "ab" * 32}).encode()
    (root / "var/lib/tailscale").mkdir(parents=True)
    (root / "var/lib/tailscale/tailscaled.state").write_text(
        json.dumps(
            {"profile-1": base64.b64encode(profile).decode(), "_current-profile": base64.b64encode(b"1").decode()}
        )
    )
    return root


def collected(root: Path) -> dict[str, str]:
    return {needle: label for label, needle in secret_scan.collect([str(root)])}


def test_collect_finds_every_kind_by_content(host: Path) -> None:
    found = collected(host)
    assert WG_PRIVATE in found and WG_PSK in found
    assert HEX in found and "ab" * 32 in found  # the noise key and tailscaled's node key (inside base64)
    assert PEM_BODY[0] in found and PEM_BODY[1] in found
    assert WG_PUBLIC not in found  # public keys are not secrets
    assert not any("headscale.crt" in label for label in found.values())
    slurp = base64.b64encode((host / "etc/wireguard/wg0.key").read_bytes()).decode()
    assert any(needle in slurp for needle, label in found.items() if label.startswith("file-base64"))


def run_scan(tmp_path: Path, secrets: dict[str, str], texts: dict[str, str], canary: str = "") -> tuple[int, str]:
    sfile = tmp_path / "secrets.tsv"
    sfile.write_text("".join(f"{label}\t{needle}\n" for needle, label in secrets.items()))
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    for name, text in texts.items():
        (out / name).write_text(text)
    args = [sys.executable, str(SCRIPT), "scan", "--secrets", str(sfile)]
    if canary:
        (tmp_path / "canary.tsv").write_text(f"wireguard-public n1\t{canary}\n")
        args += ["--canary", str(tmp_path / "canary.tsv")]
    proc = subprocess.run([*args, str(out)], capture_output=True, text=True, check=False)
    return proc.returncode, proc.stdout


@pytest.mark.parametrize(
    "leak",
    [
        pytest.param(f'ok: [n1] => {{"stdout": "private key: {WG_PRIVATE}"}}', id="raw-in-json"),
        pytest.param('"content": "' + base64.b64encode(f"{WG_PRIVATE}\n".encode()).decode() + '"', id="slurp-base64"),
        pytest.param(json.dumps({"diff": {"after": PEM}}), id="pem-in-json-diff"),
        pytest.param(f"+PresharedKey = {WG_PSK}", id="wg-config-diff"),
        pytest.param(f"argv: tailscale up --auth-key={HSKEY}", id="headscale-key-shape"),
    ],
)
def test_scan_reports_a_leak_without_printing_it(tmp_path: Path, host: Path, leak: str) -> None:
    rc, out = run_scan(tmp_path, collected(host), {"run.log": f"PLAY [x]\n{leak}\nPLAY RECAP\n"}, canary=WG_PUBLIC)
    assert rc == 1, out
    assert "LEAK" in out and "run.log line 2" in out
    for secret in (WG_PRIVATE, WG_PSK, HEX, HSKEY, *PEM_BODY[:2]):
        assert secret not in out


def test_clean_output_passes_and_counts_canaries(tmp_path: Path, host: Path) -> None:
    text = f"ok: [n1] => public_key: {WG_PUBLIC}\nhskey-auth-cPizzlj9wABC-***\nPublicKey = {WG_PUBLIC}\n"
    rc, out = run_scan(tmp_path, collected(host), {"run.log": text}, canary=WG_PUBLIC)
    assert rc == 0, out
    assert "canary wireguard-public n1: 2 times" in out


def test_a_canary_never_seen_fails(tmp_path: Path, host: Path) -> None:
    rc, out = run_scan(tmp_path, collected(host), {"run.log": "nothing here\n"}, canary=WG_PUBLIC)
    assert rc == 3, out


def test_no_secrets_collected_is_an_error(tmp_path: Path) -> None:
    rc, out = run_scan(tmp_path, {}, {"run.log": "x\n"})
    assert rc == 2, out
