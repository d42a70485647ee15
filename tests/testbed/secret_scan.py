"""Find secrets where they must not be (scenario `secrets`, issue 16). Standard library only: the
``collect`` half also runs on the test hosts (Debian's python3).

  secret_scan.py collect [ROOT...]
      Prints every secret found under the roots (default: the host's /etc /var/lib /root /run
      /var/backups) as ``label<TAB>needle`` lines: found by content, not by the collection's paths:
      PEM private keys (each body line is a needle), ``privkey:<hex>`` keys (Tailscale, Headscale noise,
      derper; also inside tailscaled's base64 state), ``PrivateKey =`` / ``PresharedKey =`` lines of
      WireGuard configs, bare WireGuard key files (``*.key``/``*.key.old`` under a wireguard directory),
      and for each file holding one the base64 of its content (what a slurp would print).
      Run it with no_log: its output is the secrets.

  secret_scan.py scan --secrets FILE... [--canary FILE] [--exclude GLOB...] PATH...
      Reads the needles, then every file under the PATHs, and prints one line per finding (label, file,
      line number: never the value). Also flags secret shapes whatever their value: PEM private key
      blocks, ``privkey:<hex>``, full Headscale pre-auth/API keys (their listings show ``-***``), and
      ``PrivateKey =`` / ``PresharedKey =`` lines. Canaries (public keys, in the same format) must be
      found at least once: proof that the outputs scanned are the real ones. Exit 0 clean, 1 a secret
      found, 3 a canary missing, 2 bad usage.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import fnmatch
import json
import os
import re
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

HOST_ROOTS = ("/etc", "/var/lib", "/root", "/run", "/var/backups")
MAX_FILE = 4 * 1024 * 1024
MIN_NEEDLE = 16  # shorter values would match by chance

PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----(.*?)-----END", re.S)
PRIVKEY_HEX = re.compile(r"privkey:([0-9a-f]{64})")
WG_LINE = re.compile(r"^[ \t]*(PrivateKey|PresharedKey)[ \t]*=[ \t]*([A-Za-z0-9+/]{42,43}=)", re.M)
WG_KEY = re.compile(r"\A\s*([A-Za-z0-9+/]{42,43}=)\s*\Z")

# Shapes that are secrets whatever their value (checked in scanned text only).
SHAPES = {
    "pem-private-key": re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----"),
    "privkey-hex": PRIVKEY_HEX,
    "headscale-key": re.compile(r"hskey-(?:auth|api)-[A-Za-z0-9_-]{12}-[A-Za-z0-9_-]{20,}"),
    "wireguard-config-secret": re.compile(r"(?:PrivateKey|PresharedKey)\s*=\s*[A-Za-z0-9+/]{42,43}="),
}


# ----------------------------------------------------------------------------------------- collect
def needles_in_text(text: str) -> Iterator[tuple[str, str]]:
    """(kind, needle) for each secret written in the text."""
    for match in PEM_BLOCK.finditer(text):
        for line in match.group(2).split():  # the body's lines as written (64 characters each)
            if len(line) >= MIN_NEEDLE and ":" not in line:  # not a PEM header (Proc-Type: ...)
                yield "pem", line
    for match in PRIVKEY_HEX.finditer(text):
        yield "privkey", match.group(1)
    for match in WG_LINE.finditer(text):
        yield match.group(1), match.group(2)


def _state_values(text: str) -> Iterator[str]:
    """tailscaled.state is JSON whose values are base64 of the real content."""
    try:
        data = json.loads(text)
    except ValueError:
        return
    if isinstance(data, dict):
        for value in data.values():
            if isinstance(value, str):
                try:
                    yield base64.b64decode(value, validate=True).decode("utf-8", "replace")
                except (binascii.Error, ValueError):
                    continue


def needles_in_file(path: Path, content: bytes) -> list[tuple[str, str]]:
    text = content.decode("utf-8", "replace")
    found = list(needles_in_text(text))
    if path.name == "tailscaled.state":
        for inner in _state_values(text):
            found.extend(needles_in_text(inner))
    if "wireguard" in str(path) and fnmatch.fnmatch(path.name, "*.key*"):
        match = WG_KEY.match(text)
        if match:
            found.append(("wireguard-key-file", match.group(1)))
    if found:
        encoded = base64.b64encode(content).decode()
        # Any slice of it shows in a slurp of the file (same alignment): skip a PEM's public header.
        window = encoded[40:120] if text.startswith("-----") else encoded[:80]
        if len(window) >= MIN_NEEDLE:
            found.append(("file-base64", window))
    return found


def walk_files(roots: Iterable[str]) -> Iterator[Path]:
    for root in roots:
        top = Path(root)
        if top.is_file():
            yield top
            continue
        for dirpath, dirnames, filenames in os.walk(top, followlinks=False):
            dirnames[:] = [d for d in dirnames if not os.path.islink(os.path.join(dirpath, d))]
            for name in filenames:
                yield Path(dirpath, name)


def read_small(path: Path, limit: int = MAX_FILE) -> bytes | None:
    try:
        if not path.is_file() or path.is_symlink() or path.stat().st_size > limit:
            return None
        return path.read_bytes()
    except OSError:
        return None


def collect(roots: Iterable[str]) -> list[tuple[str, str]]:
    seen: dict[str, str] = {}
    for path in walk_files(roots):
        content = read_small(path)
        if content is None or (b"\0" in content[:4096] and path.name != "tailscaled.state"):
            continue
        for kind, needle in needles_in_file(path, content):
            seen.setdefault(needle, f"{kind} {path}")
    return sorted((label, needle) for needle, label in seen.items())


# -------------------------------------------------------------------------------------------- scan
def read_needles(files: Iterable[str]) -> dict[str, str]:
    needles: dict[str, str] = {}
    for name in files:
        for line in Path(name).read_text().splitlines():
            label, sep, needle = line.partition("\t")
            if sep and len(needle) >= MIN_NEEDLE:
                needles.setdefault(needle, label)
    return needles


def scan_text(text: str, needles: dict[str, str]) -> Iterator[tuple[int, str]]:
    """(line number, label) for each needle or secret shape in the text."""
    anyof = re.compile("|".join(re.escape(needle) for needle in sorted(needles, key=len, reverse=True)))
    for number, line in enumerate(text.splitlines(), 1):
        for match in anyof.finditer(line):
            yield number, needles[match.group()]
        for shape, pattern in SHAPES.items():
            if pattern.search(line):
                yield number, f"shape {shape}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_collect = sub.add_parser("collect")
    p_collect.add_argument("roots", nargs="*", default=list(HOST_ROOTS))
    p_scan = sub.add_parser("scan")
    p_scan.add_argument("--secrets", nargs="+", required=True)
    p_scan.add_argument("--canary", action="append", default=[])
    p_scan.add_argument("--exclude", action="append", default=[])
    p_scan.add_argument("paths", nargs="+")
    args = parser.parse_args(argv)

    if args.command == "collect":
        for label, needle in collect(args.roots):
            print(f"{label}\t{needle}")
        return 0

    needles = read_needles(args.secrets)
    canaries = read_needles(args.canary)
    if not needles:
        print("secret_scan: no secrets to look for (the collection step found none)", file=sys.stderr)
        return 2
    leaks: dict[tuple[str, str], list[int]] = {}
    canary_hits = dict.fromkeys(canaries.values(), 0)
    scanned = 0
    for path in walk_files(args.paths):
        if any(fnmatch.fnmatch(str(path), glob) for glob in args.exclude):
            continue
        content = read_small(path, limit=1 << 34)  # logs of -vvv runs are large: read them whole
        if content is None:
            continue
        scanned += 1
        text = content.decode("utf-8", "replace")
        for number, label in scan_text(text, needles):
            leaks.setdefault((label, str(path)), []).append(number)
        for needle, label in canaries.items():
            canary_hits[label] += text.count(needle)
    kinds = sorted({label.split()[0] for label in needles.values()})
    print(f"secret_scan: {len(needles)} secrets ({', '.join(kinds)}) looked for in {scanned} files")
    for (label, path), lines in sorted(leaks.items()):
        shown = ",".join(map(str, lines[:10])) + ("..." if len(lines) > 10 else "")
        print(f"LEAK {label} in {path} line {shown}")
    missing = sorted(label for label, hits in canary_hits.items() if not hits)
    for label, hits in sorted(canary_hits.items()):
        print(f"canary {label}: {hits} times")
    if leaks:
        return 1
    if missing:
        print(f"secret_scan: canaries never seen (the outputs are not the real ones?): {missing}")
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
