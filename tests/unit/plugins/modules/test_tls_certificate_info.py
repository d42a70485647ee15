"""tls_certificate_info's main() in-process against a real TLS server on loopback (a thread), with a
certificate made by the openssl CLI for a known number of days."""

import calendar
import socket
import ssl
import subprocess
import threading
import time

import pytest
from helpers import module_runner

from ansible_collections.wgops.fleet.plugins.modules import tls_certificate_info


@pytest.fixture
def server(tmp_path):
    """Serve a 30-day certificate for CN=hs.test on a free loopback port; yields the port."""
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "30", "-subj", "/CN=hs.test"],
        check=True, capture_output=True,
    )  # fmt: skip
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _peer = listener.accept()
            except TimeoutError:
                continue
            try:
                with context.wrap_socket(conn, server_side=True):
                    pass
            except (ssl.SSLError, OSError):
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    listener.close()


def run(args):
    return module_runner.run_module(tls_certificate_info.main, args, [], check_mode=True, mask_no_log=False)


def test_the_served_certificate_and_its_days_left(server):
    result, failed = run({"port": server, "server_name": "hs.test"})
    assert not failed, result
    assert result["changed"] is False
    assert result["days_left"] in (29, 30)
    assert result["subject"] == "CN=hs.test"
    expires = calendar.timegm(time.strptime(result["not_after"], "%Y-%m-%dT%H:%M:%SZ"))
    assert abs(expires - (time.time() + 30 * 86400)) < 120


def test_nothing_listening_names_the_endpoint():
    probe = socket.create_server(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    result, failed = run({"port": port, "server_name": "hs.test", "timeout": 2})
    assert failed
    assert f"no TLS certificate from 127.0.0.1:{port} (SNI hs.test)" in result["msg"]
