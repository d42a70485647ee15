"""The patterns roles match inventory strings against (whole, as the regex test with match_type=fullmatch does)
before the strings reach a certificate, a unit file or an environment file: what each accepts and refuses."""

import re
from pathlib import Path

import pytest
import yaml

ROLES = Path(__file__).resolve().parents[3] / "roles"


def pattern(role: str, name: str) -> str:
    """A pattern of roles/ROLE/vars/main.yml, with its {{ var }} references to other patterns filled in."""
    role_vars = yaml.safe_load((ROLES / role / "vars" / "main.yml").read_text(encoding="utf-8"))
    text = role_vars[name]
    for _attempt in range(5):
        text = re.sub(r"\{\{ (\w+) \}\}", lambda m: role_vars[m.group(1)], text)
    assert "{{" not in text
    return text


def accepts(role: str, name: str, value: str) -> bool:
    return re.fullmatch(pattern(role, name), value) is not None


# -- internal_ca: the names of a certificate and the CA's name constraints ---------------------------------

GOOD_SANS = [
    "DNS:hs",
    "DNS:hs.example.org",
    "DNS:*.example.org",
    "DNS:node_1",
    "IP:10.89.72.10",
    "IP:fd00::1",
    "IP:::1",
]
BAD_SANS = [
    "DNS:hs.example.org,DNS:evil.example",  # a comma adds a name
    "IP:10.0.0.1,IP:192.0.2.1",
    "IP:10.89.72.10\nbasicConstraints=critical,CA:TRUE",  # a line break adds an extension
    "DNS:hs.example.org\n",
    "DNS:hs example.org",
    "DNS:hs/../x",
    "DNS:",
    "IP:256.1.1.1",
    "IP:10.0.0.1/24",
    "email:ops@example.org",
    "URI:https://example.org",
]


@pytest.mark.parametrize("name", GOOD_SANS)
def test_certificate_names_accepted(name):
    assert accepts("internal_ca", "__internal_ca_san_pattern", name)


@pytest.mark.parametrize("name", BAD_SANS)
def test_certificate_names_refused(name):
    assert not accepts("internal_ca", "__internal_ca_san_pattern", name)


@pytest.mark.parametrize("entry", ["DNS:example.org", "DNS:.example.org", "IP:10.0.0.0/8", "IP:fd00::/8"])
def test_name_constraints_accepted(entry):
    assert accepts("internal_ca", "__internal_ca_constraint_pattern", entry)


@pytest.mark.parametrize("entry", ["DNS:example.org,DNS:x", "IP:10.0.0.0", "DNS:exa mple.org", "excluded;DNS:x", ""])
def test_name_constraints_refused(entry):
    assert not accepts("internal_ca", "__internal_ca_constraint_pattern", entry)


# -- tailscale: tailscale_daemon_flags, into FLAGS="..." of /etc/default/tailscaled -------------------------


@pytest.mark.parametrize(
    "flags", ["", "--no-logs-no-support", "--tun=userspace-networking --socks5-server=localhost:1055", "--verbose 1"]
)
def test_daemon_flags_accepted(flags):
    assert accepts("tailscale", "__tailscale_daemon_flags_pattern", flags)


@pytest.mark.parametrize(
    "flags",
    [
        '--verbose=1"\nPORT="1',  # a quote and a line break add a variable to the environment file
        "--verbose=1\n",
        "--state=$HOME/x",
        "--a\\ b",
        "--a  --b",
        " --a",
        "--a;reboot",
        "--a\t--b",
    ],
)
def test_daemon_flags_refused(flags):
    assert not accepts("tailscale", "__tailscale_daemon_flags_pattern", flags)


# -- derp: what reaches derper's ExecStart line --------------------------------------------------------------


@pytest.mark.parametrize("hostname", ["derp1", "relay.example.org", "a-b.example"])
def test_derp_hostname_accepted(hostname):
    assert accepts("derp", "__derp_hostname_pattern", hostname)


@pytest.mark.parametrize("hostname", ["relay -a :80", "relay\nExecStartPre=/bin/sh", "relay%n", "-relay", "re$lay", ""])
def test_derp_hostname_refused(hostname):
    assert not accepts("derp", "__derp_hostname_pattern", hostname)


@pytest.mark.parametrize("address", ["", "0.0.0.0", "[::]", "[fd00::1]", "relay.example.org"])
def test_derp_listen_address_accepted(address):
    assert accepts("derp", "__derp_listen_pattern", address)


@pytest.mark.parametrize("address", ["0.0.0.0 -stun-port 1", "::", "[::] ", "1.2.3.4\n"])
def test_derp_listen_address_refused(address):
    assert not accepts("derp", "__derp_listen_pattern", address)


@pytest.mark.parametrize("url", ["https://hs/verify", "https://hs.example.org:8443/verify", "http://[fd00::1]/verify"])
def test_derp_verify_url_accepted(url):
    assert accepts("derp", "__derp_url_pattern", url)


@pytest.mark.parametrize(
    "url", ["https://hs/verify -verify-client-url-fail-open=true", "https://hs/verify\n", "https://hs/%n", "ftp://hs/x"]
)
def test_derp_verify_url_refused(url):
    assert not accepts("derp", "__derp_url_pattern", url)


@pytest.mark.parametrize("address", ["10.89.76.11", "192.0.2.1"])
def test_derp_ipv4_accepted(address):
    assert accepts("derp", "__derp_ipv4_pattern", address)


@pytest.mark.parametrize("address", ["10.89.76.11\n", "10.89.76", "10.89.76.11,DNS:evil", "300.1.1.1"])
def test_derp_ipv4_refused(address):
    assert not accepts("derp", "__derp_ipv4_pattern", address)
