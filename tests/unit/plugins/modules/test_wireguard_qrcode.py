"""wireguard_qrcode's main() in-process on real files under tmp_path.

The module writes PNG only. The picture is checked with a small PNG reader written here (chunk CRCs,
IHDR, the IDAT rows unfiltered), then as a QR symbol: square, a whole number of modules of `scale`
pixels, a 4-module light quiet zone and the three finder patterns where ISO/IEC 18004 puts them. The
content is not decoded. The results are checked unmasked: the module must never return the
configuration, which holds the client's private key.
"""

import json
import os
import stat
import struct
import zlib

import pytest
from helpers import module_runner

from ansible_collections.wgops.fleet.plugins.modules import wireguard_qrcode

PRIVATE = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk="
CONFIG = f"""[Interface]
PrivateKey = {PRIVATE}
Address = 10.99.0.20/32, fd00:99::20/128
DNS = 10.99.0.1

[Peer]
PublicKey = xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=
PresharedKey = /UwcSPg38hW/D9Y3tcS1FOV0K1wuURMbS0sesJEP5ak=
AllowedIPs = 0.0.0.0/0, ::/0
Endpoint = hub.example.net:51820
PersistentKeepalive = 25
"""
SECRETS = (PRIVATE, "/UwcSPg38hW/D9Y3tcS1FOV0K1wuURMbS0sesJEP5ak=")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def run(args, check_mode=False):
    return module_runner.run_module(wireguard_qrcode.main, args, [], check_mode=check_mode, mask_no_log=False)


def client(tmp_path, text=CONFIG, name="phone-alice"):
    src = tmp_path / f"{name}.conf"
    src.write_text(text)
    src.chmod(0o600)
    return src, tmp_path / f"{name}.png"


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def stamp(path):
    info = os.stat(path)
    return path.read_bytes(), info.st_ino, info.st_mtime_ns


def assert_nothing_of_the_config(result):
    text = json.dumps(result)
    for secret in SECRETS:
        assert secret not in text
    assert "[Interface]" not in text and "PrivateKey" not in text


# -- a minimal PNG reader ---------------------------------------------------------------------------------


def read_png(data):
    """(width, height, rows of pixel values) of a greyscale PNG; asserts it is well formed."""
    assert data[:8] == PNG_SIGNATURE
    offset, chunks = 8, []
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        body = data[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", data[offset + 8 + length : offset + 12 + length])
        assert zlib.crc32(kind + body) == crc, f"bad CRC in {kind!r}"
        chunks.append((kind, body))
        offset += 12 + length
    assert offset == len(data)
    kinds = [kind for kind, _ignored in chunks]
    assert kinds[0] == b"IHDR" and kinds[-1] == b"IEND" and b"IDAT" in kinds
    # no text chunks (tEXt, zTXt, iTXt) that could carry the configuration in the clear
    assert not {b"tEXt", b"zTXt", b"iTXt"} & set(kinds)
    width, height, depth, colour, compression, filtering, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    assert (colour, compression, filtering, interlace) == (0, 0, 0, 0), "expected non-interlaced greyscale"
    assert depth in (1, 2, 4, 8)
    raw = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    stride = (width * depth + 7) // 8
    assert len(raw) == height * (1 + stride)
    rows, previous = [], bytearray(stride)
    for y in range(height):
        line = raw[y * (1 + stride) : (y + 1) * (1 + stride)]
        filter_type, scan = line[0], bytearray(line[1:])
        for x in range(stride):
            a = scan[x - 1] if x else 0
            b = previous[x]
            c = previous[x - 1] if x else 0
            if filter_type == 1:
                scan[x] = (scan[x] + a) & 0xFF
            elif filter_type == 2:
                scan[x] = (scan[x] + b) & 0xFF
            elif filter_type == 3:
                scan[x] = (scan[x] + (a + b) // 2) & 0xFF
            elif filter_type == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                scan[x] = (scan[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
            else:
                assert filter_type == 0
        previous = scan
        per_byte = 8 // depth
        rows.append(
            [(scan[x // per_byte] >> (8 - depth * (x % per_byte + 1))) & ((1 << depth) - 1) for x in range(width)]
        )
    return width, height, rows


def qr_modules(data, scale):
    """The QR symbol as rows of booleans (dark), one per module, quiet zone included."""
    width, height, rows = read_png(data)
    assert width == height and width % scale == 0
    size = width // scale
    modules = []
    for my in range(size):
        row = []
        for mx in range(size):
            block = {rows[my * scale + dy][mx * scale + dx] for dy in range(scale) for dx in range(scale)}
            assert len(block) == 1, "a module is not a solid square of scale pixels"
            row.append(block.pop() == 0)  # 0 is black in greyscale
        modules.append(row)
    return modules


# dark unless on the ring one module in from the edge
FINDER = [[min(x, y, 6 - x, 6 - y) != 1 for x in range(7)] for y in range(7)]


def assert_qr_symbol(modules, border=4):
    size = len(modules)
    inner = size - 2 * border
    version = (inner - 17) / 4
    assert version == int(version) and 1 <= version <= 40, f"{inner} modules is no QR code version"
    for y in range(size):
        for x in range(size):
            if min(x, y) < border or max(x, y) >= size - border:
                assert not modules[y][x], "the quiet zone must be light"
    for oy, ox in ((border, border), (border, size - border - 7), (size - border - 7, border)):
        got = [[modules[oy + y][ox + x] for x in range(7)] for y in range(7)]
        assert got == FINDER, f"no finder pattern at module ({ox}, {oy})"
    return int(version)


def test_the_finder_pattern_model():
    """Dark ring, light ring, 3x3 dark centre (ISO/IEC 18004, 6.3.3)."""
    assert ["".join("#" if dark else "." for dark in row) for row in FINDER] == [
        "#######",
        "#.....#",
        "#.###.#",
        "#.###.#",
        "#.###.#",
        "#.....#",
        "#######",
    ]


# -- the module ----------------------------------------------------------------------------------------


def test_writes_a_0600_png_qr_code_and_returns_nothing_of_the_config(tmp_path):
    src, dest = client(tmp_path)
    result, failed = run({"src": str(src), "dest": str(dest)})
    assert not failed
    assert result == {"changed": True, "dest": str(dest)}
    assert_nothing_of_the_config(result)
    data = dest.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    for secret in SECRETS:
        assert secret.encode() not in data
    version = assert_qr_symbol(qr_modules(data, scale=4))
    # 339 bytes in byte mode at error level M (the module's): ISO/IEC 18004 table 7 gives 13-M 331 bytes and
    # 14-M 362, so the smallest symbol that holds it is version 14 (73 x 73 modules)
    assert len(CONFIG.encode()) == 339
    assert version == 14
    assert mode_of(dest) == 0o600
    assert sorted(os.listdir(tmp_path)) == ["phone-alice.conf", "phone-alice.png"]  # no .tmp left


def test_a_second_run_changes_nothing(tmp_path):
    src, dest = client(tmp_path)
    run({"src": str(src), "dest": str(dest)})
    before = stamp(dest)
    for check_mode in (True, False):
        result, failed = run({"src": str(src), "dest": str(dest)}, check_mode=check_mode)
        assert not failed
        assert result == {"changed": False, "dest": str(dest)}
    assert stamp(dest) == before


def test_check_mode_reports_the_change_and_writes_nothing(tmp_path):
    src, dest = client(tmp_path)
    result, failed = run({"src": str(src), "dest": str(dest)}, check_mode=True)
    assert not failed
    assert result == {"changed": True, "dest": str(dest)}
    assert not dest.exists()
    assert os.listdir(tmp_path) == ["phone-alice.conf"]


def test_a_changed_config_redraws_the_picture(tmp_path):
    src, dest = client(tmp_path)
    run({"src": str(src), "dest": str(dest)})
    first = dest.read_bytes()
    src.write_text(CONFIG.replace("PersistentKeepalive = 25", "PersistentKeepalive = 15"))
    result, failed = run({"src": str(src), "dest": str(dest)}, check_mode=True)
    assert not failed and result["changed"] is True
    assert dest.read_bytes() == first
    result, failed = run({"src": str(src), "dest": str(dest)})
    assert not failed and result["changed"] is True
    assert dest.read_bytes() != first
    assert_qr_symbol(qr_modules(dest.read_bytes(), scale=4))
    assert mode_of(dest) == 0o600


def test_a_picture_readable_by_others_is_replaced_by_a_0600_one(tmp_path):
    src, dest = client(tmp_path)
    dest.write_bytes(b"an old picture")
    dest.chmod(0o644)
    result, failed = run({"src": str(src), "dest": str(dest)})
    assert not failed and result["changed"] is True
    assert dest.read_bytes().startswith(PNG_SIGNATURE)
    assert mode_of(dest) == 0o600


@pytest.mark.parametrize("scale", [1, 3, 8])
def test_scale_is_pixels_per_module(tmp_path, scale):
    src, dest = client(tmp_path)
    run({"src": str(src), "dest": str(tmp_path / "base.png"), "scale": 1})
    base_width, _ignored, _ignored = read_png((tmp_path / "base.png").read_bytes())
    result, failed = run({"src": str(src), "dest": str(dest), "scale": scale})
    assert not failed and result["changed"] is True
    width, height, _ignored = read_png(dest.read_bytes())
    assert (width, height) == (base_width * scale, base_width * scale)
    assert_qr_symbol(qr_modules(dest.read_bytes(), scale=scale))


def test_a_changed_scale_redraws_the_picture(tmp_path):
    src, dest = client(tmp_path)
    run({"src": str(src), "dest": str(dest)})
    result, failed = run({"src": str(src), "dest": str(dest), "scale": 5})
    assert not failed and result["changed"] is True
    assert_qr_symbol(qr_modules(dest.read_bytes(), scale=5))


def test_different_clients_get_different_pictures(tmp_path):
    one_src, one = client(tmp_path)
    two_src, two = client(tmp_path, CONFIG.replace(PRIVATE, "0" * 43 + "="), name="phone-bob")
    run({"src": str(one_src), "dest": str(one)})
    run({"src": str(two_src), "dest": str(two)})
    assert qr_modules(one.read_bytes(), 4) != qr_modules(two.read_bytes(), 4)


def test_a_missing_config_fails_naming_it(tmp_path):
    src, dest = tmp_path / "nobody.conf", tmp_path / "nobody.png"
    result, failed = run({"src": str(src), "dest": str(dest)})
    assert failed
    assert result["msg"].startswith(f"cannot read {src}: ")
    assert "No such file or directory" in result["msg"]
    assert not dest.exists()


def test_an_unreadable_config_fails_without_showing_it(tmp_path):
    """A directory given as src: the error names the path, and no content of any file."""
    result, failed = run({"src": str(tmp_path), "dest": str(tmp_path / "x.png")})
    assert failed
    assert result["msg"].startswith(f"cannot read {tmp_path}: ")
    assert not (tmp_path / "x.png").exists()


def test_without_segno_it_fails_saying_what_to_install(tmp_path, monkeypatch):
    src, dest = client(tmp_path)
    monkeypatch.setattr(wireguard_qrcode, "segno", None)
    monkeypatch.setattr(wireguard_qrcode, "SEGNO_IMPORT_ERROR", "Traceback: No module named 'segno'")
    result, failed = run({"src": str(src), "dest": str(dest)})
    assert failed
    assert "segno" in result["msg"] and "Failed to import the required Python library" in result["msg"]
    assert not dest.exists()
    assert_nothing_of_the_config(result)


def test_an_unchanged_picture_readable_by_others_is_made_0600(tmp_path):
    src, dest = client(tmp_path)
    run({"src": str(src), "dest": str(dest)})
    dest.chmod(0o644)
    before = dest.read_bytes(), os.stat(dest).st_ino
    result, failed = run({"src": str(src), "dest": str(dest)}, check_mode=True)
    assert not failed and result == {"changed": True, "dest": str(dest)}
    assert mode_of(dest) == 0o644  # check mode only predicts
    result, failed = run({"src": str(src), "dest": str(dest)})
    assert not failed and result == {"changed": True, "dest": str(dest)}
    assert mode_of(dest) == 0o600
    assert (dest.read_bytes(), os.stat(dest).st_ino) == before  # the mode fixed, the file not rewritten
    again, failed = run({"src": str(src), "dest": str(dest)})
    assert not failed and again["changed"] is False


def test_a_leftover_temporary_file_does_not_make_the_picture_readable(tmp_path):
    src, dest = client(tmp_path)
    leftover = tmp_path / "phone-alice.png.tmp"
    leftover.write_bytes(b"")
    leftover.chmod(0o644)
    result, failed = run({"src": str(src), "dest": str(dest)})
    assert not failed and result["changed"] is True
    assert mode_of(dest) == 0o600
    assert leftover.read_bytes() == b"" and mode_of(leftover) == 0o644  # not used, not touched


def test_the_picture_goes_through_a_new_0600_temporary_file_beside_it(tmp_path, monkeypatch):
    src, dest = client(tmp_path)
    seen = []
    real_replace = os.replace

    def replace(tmp, target):
        seen.append((os.path.dirname(tmp), os.path.basename(tmp).startswith(".phone-alice.png."), mode_of(tmp), target))
        real_replace(tmp, target)

    monkeypatch.setattr(os, "replace", replace)
    result, failed = run({"src": str(src), "dest": str(dest)})
    assert not failed and result["changed"] is True
    assert seen == [(str(tmp_path), True, 0o600, str(dest))]


def test_a_failed_write_fails_cleanly_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    src, dest = client(tmp_path)

    def broken(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken)
    result, failed = run({"src": str(src), "dest": str(dest)})
    assert failed and result["msg"] == f"cannot write {dest}: [Errno 28] No space left on device"
    assert os.listdir(tmp_path) == ["phone-alice.conf"]
    assert_nothing_of_the_config(result)


@pytest.mark.parametrize(
    ("content", "dest", "scale", "message"),
    [
        (
            CONFIG.encode(),
            "missing-dir/phone.png",
            4,
            "cannot write {dest}: the directory {tmp}/missing-dir does not exist; create it first",
        ),
        (b"\xff\xfe[Interface]\n", "phone.png", 4, "cannot read {src}: not UTF-8 text (an invalid byte at offset 0)"),
        (
            b"x" * 5000,
            "phone.png",
            4,
            "{src} is too large for a QR code: 5000 bytes, where a QR code holds at most 2331 (version 40, error "
            "correction level M); shorten the configuration",
        ),
        (CONFIG.encode(), "phone.png", 0, "scale must be 1 or more (pixels per QR module), not 0"),
        (CONFIG.encode(), "phone.png", -2, "scale must be 1 or more (pixels per QR module), not -2"),
        (CONFIG.encode(), "a-directory", 4, "cannot read {dest}: [Errno 21] Is a directory: '{dest}'"),
    ],
    ids=[
        "dest-directory-missing",
        "not-utf8",
        "too-large-for-a-qr-code",
        "scale-0",
        "scale-negative",
        "dest-a-directory",
    ],
)
def test_bad_input_fails_cleanly(tmp_path, content, dest, scale, message):
    src = tmp_path / "phone.conf"
    src.write_bytes(content)
    (tmp_path / "a-directory").mkdir()
    result, failed = run({"src": str(src), "dest": str(tmp_path / dest), "scale": scale})
    assert failed
    assert result["msg"] == message.format(src=src, dest=tmp_path / dest, tmp=tmp_path)
    assert sorted(os.listdir(tmp_path)) == ["a-directory", "phone.conf"]
    assert_nothing_of_the_config(result)
