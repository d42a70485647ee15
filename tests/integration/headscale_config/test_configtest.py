"""The configs plugins/module_utils/_headscale/config.py builds, checked by the real Headscale binaries.

For every Headscale version tests/testbed/go-binaries.sh built (its cache, WGOPS_GO_CACHE or
${XDG_CACHE_HOME:-~/.cache}/wgops/go), with every path pointed into a temporary directory and every listener
on loopback (no network is needed):

- `headscale configtest` (config loading and validation, Noise/DERP keys, database and policy) accepts the
  config of the role defaults and of the variants: internal CA, provided certificate, ACME, reverse proxy,
  embedded DERP, DNS, policy file, PostgreSQL (a throwaway server when initdb is installed);
- every key our validator refuses as removed or renamed is also fatal to Headscale, or is one Headscale only
  warns about or silently ignores, exactly as its config.go says (the table below);
- `headscale serve` with a provided certificate serves TLS with it and loads the DERP map file
  _headscale/derpmap.py wrote (its debug endpoint shows the regions), and tailcfg decodes that file with no
  unknown key (a small Go program built against the version's own go.mod, offline).
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml
from common.server import CACHE, free_port, pinned_versions
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ansible_collections.wgops.fleet.plugins.module_utils import _values as hv
from ansible_collections.wgops.fleet.plugins.module_utils._headscale import config as hc
from ansible_collections.wgops.fleet.plugins.module_utils._headscale import derpmap as dm
from ansible_collections.wgops.fleet.plugins.module_utils._headscale import keys as hk
from ansible_collections.wgops.fleet.plugins.module_utils._problems import PlanError

HEADSCALE_CACHE = CACHE / "headscale"
HOW_TO_BUILD = (
    f"run tests/testbed/go-binaries.sh (or make binaries) to build the Headscale binaries into {HEADSCALE_CACHE}"
)


def built_versions() -> list[str]:
    if not HEADSCALE_CACHE.is_dir():
        return []
    return sorted(
        (p.name for p in HEADSCALE_CACHE.iterdir() if os.access(p / "headscale", os.X_OK)),
        key=hv.version_tuple,
    )


VERSIONS = built_versions()


def test_the_headscale_binaries_are_built():
    assert HEADSCALE_CACHE.is_dir(), f"{HEADSCALE_CACHE} does not exist: {HOW_TO_BUILD}"
    missing = sorted(set(pinned_versions()[0]) - set(VERSIONS))
    assert not missing, f"no Headscale binary for {', '.join(missing)}: {HOW_TO_BUILD}"


def binary(version: str) -> str:
    return str(HEADSCALE_CACHE / version / "headscale")


def self_signed(directory: Path, name: str) -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName(name), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "tls.crt", directory / "tls.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(cert_path), str(key_path)


class Site:
    """A Headscale installation inside a temporary directory, every listener on a free loopback port."""

    def __init__(self, root: Path, version: str) -> None:
        self.root, self.version = root, version
        for sub in ("etc", "data", "run"):
            (root / sub).mkdir()
        self.cert, self.key = self_signed(root / "etc", "hs.test")
        self.port = free_port()
        self.metrics_port = free_port()

    def settings(self, **overrides) -> dict:
        values = {
            "version": self.version,
            "config_dir": str(self.root / "etc"),
            "data_dir": str(self.root / "data"),
            "unix_socket": str(self.root / "run" / "headscale.sock"),
            "server_url": f"https://hs.test:{self.port}",
            "listen_addr": f"127.0.0.1:{self.port}",
            "metrics_listen_addr": f"127.0.0.1:{self.metrics_port}",
            "grpc_listen_addr": f"127.0.0.1:{free_port()}",
            "derp_server_stun_listen_addr": f"127.0.0.1:{free_port()}",
            "tls_cert_path": self.cert,
            "tls_key_path": self.key,
        }
        values.update(overrides)
        return values

    def write(self, config: dict) -> Path:
        path = self.root / "etc" / "config.yaml"
        path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        return path

    def configtest(self, config: dict) -> subprocess.CompletedProcess:
        return subprocess.run(
            [binary(self.version), "configtest", "-c", str(self.write(config))],
            capture_output=True,
            text=True,
            timeout=120,
            env={"PATH": os.environ.get("PATH", ""), "HOME": str(self.root)},
            check=False,
        )


@pytest.fixture(params=VERSIONS)
def site(request, tmp_path) -> Site:
    return Site(tmp_path, request.param)


def assert_passes(result: subprocess.CompletedProcess) -> None:
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"headscale configtest failed ({result.returncode}):\n{output}"
    for word in (" FTL ", "FATAL", "Error initializing"):
        assert word not in output, output


# -- configtest accepts what the builder builds --------------------------------------------------------------

POLICY = {
    "groups": {"group:admins": ["alice@"]},
    "acls": [{"action": "accept", "src": ["*"], "dst": ["*:*"]}],
}
VARIANTS = {
    "defaults": {},
    "provided": {"tls_mode": "provided"},
    "acme": {
        "tls_mode": "acme",
        "tls_cert_path": "",
        "tls_key_path": "",
        "server_url": "https://hs.test",
        "tls_letsencrypt_hostname": "hs.test",
        "acme_email": "ops@example.org",
        "tls_letsencrypt_challenge_type": "TLS-ALPN-01",
    },
    "proxy": {"tls_mode": "proxy", "tls_cert_path": "", "tls_key_path": "", "server_url": "https://hs.test"},
    "proxy_trusted": {
        "tls_mode": "proxy",
        "tls_cert_path": "",
        "tls_key_path": "",
        "server_url": "https://hs.test",
        "listen_addr": f"0.0.0.0:{free_port()}",
        "trusted_proxies": ["10.0.0.1/32", "fd00::1/128"],
    },
    "none": {"tls_mode": "none", "tls_cert_path": "", "tls_key_path": "", "server_url": "http://hs.test:8080"},
    "embedded_derp": {
        "derp_server_enabled": True,
        "derp_server_ipv4": "192.168.77.10",
        "derp_server_ipv6": "2a01:4f8:c0c:1::10",
        "derp_urls": [],
        "derp_server_region_id": 950,
    },
    "dns": {
        "dns_base_domain": "ts.example.org",
        "dns_override_local_dns": True,
        "dns_nameservers_global": ["9.9.9.9", "2620:fe::fe", "https://dns.nextdns.io/abc123"],
        "dns_nameservers_split": {"corp.example.org": ["10.1.0.53"]},
        "dns_search_domains": ["corp.example.org"],
        "dns_extra_records": [
            {"name": "grafana.ts.example.org", "type": "A", "value": "100.64.0.3"},
            {"name": "grafana.ts.example.org", "type": "AAAA", "value": "fd7a:115c:a1e0::3"},
        ],
        "prefixes_v4": "100.100.0.0/16",
        "prefixes_v6": "",
        "prefixes_allocation": "random",
    },
    "policy_file": {"policy": POLICY, "node_expiry": "180d", "log_format": "json", "log_level": "debug"},
    "overrides": {
        "config_overrides": {
            "logtail": {"enabled": False},
            "derp": {"server": {"automatically_add_embedded_derp_region": True}},
            "unix_socket_permission": "0700",
        }
    },
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_configtest_accepts_the_built_config(site, variant):
    settings = site.settings(**VARIANTS[variant])
    if "policy" in settings:
        policy_path = site.root / "etc" / "policy.hujson"
        policy_path.write_text(hc.policy_text(settings["policy"]), encoding="utf-8")
        settings["policy_path"] = str(policy_path)
    config = hc.build_config(settings, "hs1")
    assert_passes(site.configtest(config))
    assert (site.root / "data" / "noise_private.key").exists()
    if variant == "embedded_derp":
        assert (site.root / "data" / "derp_server_private.key").exists()


def test_configtest_reads_the_policy_file(site):
    """configtest loads policy.path: an invalid policy there fails it, so the policy variant above was read."""
    policy_path = site.root / "etc" / "policy.hujson"
    policy_path.write_text('{"acls": [{"action": "allow-everything"}]}', encoding="utf-8")
    config = hc.build_config(site.settings(policy={"acls": []}, policy_path=str(policy_path)), "hs1")
    result = site.configtest(config)
    assert result.returncode != 0, result.stdout + result.stderr


def postgres_tool(name: str) -> str | None:
    bindirs = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    return shutil.which(name) or next((str(d / name) for d in bindirs if (d / name).exists()), None)


@pytest.fixture(scope="session")
def postgres():
    """A throwaway PostgreSQL on a Unix socket (its directory is the host), or None without initdb/pg_ctl."""
    initdb, pg_ctl, createdb = postgres_tool("initdb"), postgres_tool("pg_ctl"), postgres_tool("createdb")
    if not (initdb and pg_ctl and createdb):
        yield None
        return
    root = Path(tempfile.mkdtemp(prefix="wgops-postgres-"))  # outside pytest's 0700 tree: nobody must reach it
    run_as: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        shutil.chown(root, "nobody")
        run_as = ["runuser", "-u", "nobody", "--"]
    data = root / "data"
    try:
        subprocess.run(
            [*run_as, initdb, "-D", str(data), "-A", "trust", "-U", "headscale"], check=True, capture_output=True
        )
        options = f"-k {root} -c listen_addresses=''"
        subprocess.run(
            [*run_as, pg_ctl, "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start"],
            check=True,
            capture_output=True,
        )
        subprocess.run([*run_as, createdb, "-h", str(root), "-U", "headscale", "headscale"], check=True)
        yield str(root)
    finally:
        subprocess.run([*run_as, pg_ctl, "-D", str(data), "-m", "immediate", "stop"], check=False, capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def test_configtest_accepts_the_postgres_config(site, postgres):
    settings = site.settings(
        database_type="postgres", postgres_host=postgres or "/nonexistent", postgres_ssl="disable", postgres_password=""
    )
    config = hc.build_config(settings, "hs1")
    assert config["database"]["postgres"]["host"] == settings["postgres_host"]
    result = site.configtest(config)
    output = result.stdout + result.stderr
    assert "database=postgres" in output, output
    if postgres:
        assert_passes(result)
    else:
        # No PostgreSQL installed here: the config must get through loading and fail only on connecting.
        assert "loading configuration" not in output and "failed to connect" in output, output


# -- removed and renamed keys -----------------------------------------------------------------------------

# What Headscale (config.go validateServerConfig) does when the key is set in a config this role builds.
# "fatal": refuses to start; "warn": starts with a deprecation warning, because the role always sets the
# new key (fatalIfNewKeyIsNotUsed / warnNoAlias); "ignored": not read at all any more.
FATAL = {"dns.use_username_in_magic_dns", "dns_config.use_username_in_magic_dns", "oidc.strip_email_domain"}
# dns.extra_records is written only when headscale_dns_extra_records is set, so the old key is fatal here
FATAL |= {"oidc.map_legacy_users", "dns_config.extra_records"}
FATAL_SINCE_029 = {"randomize_client_port", "oidc.expiry"}
WARN = {f"dns_config.{key}" for key in ("magic_dns", "base_domain", "override_local_dns", "nameservers")}
WARN |= {f"dns_config.{key}" for key in ("restricted_nameservers", "domains")} | {"acl_policy_path"}
WARN_SINCE_029 = {"ephemeral_node_inactivity_timeout"}
VALUES = {
    "dns_config.nameservers": ["1.1.1.1"],
    "dns_config.restricted_nameservers": {"corp.example.org": ["10.1.0.53"]},
    "dns_config.domains": ["corp.example.org"],
    "dns_config.extra_records": [{"name": "a.tailnet.internal", "type": "A", "value": "100.64.0.9"}],
    "dns_config.base_domain": "tailnet.internal",
    "oidc.expiry": "30d",
    "ephemeral_node_inactivity_timeout": "30m",
    "acl_policy_path": "/nonexistent/policy.hujson",
    "ip_prefixes": ["100.64.0.0/10"],
    "db_type": "postgres",
    "db_path": "/nonexistent/db.sqlite",
    "log_level": "trace",
}


def expected_reaction(key: str, version: str) -> str:
    minor = hv.version_tuple(version)[1]
    if key in FATAL or (minor >= 29 and key in FATAL_SINCE_029):
        return "fatal"
    if key in WARN or (minor >= 29 and key in WARN_SINCE_029):
        return "warn"
    return "ignored"


def with_key(config: dict, key: str, value) -> dict:
    result = json.loads(json.dumps(config))
    node = result
    *parents, leaf = key.split(".")
    for parent in parents:
        node = node.setdefault(parent, {})
    node[leaf] = value
    return result


def leaf_entries(version: str) -> list[str]:
    removed = hk.removed_keys(version)
    return [key for key in removed if not any(other.startswith(key + ".") for other in removed)]


@pytest.mark.parametrize("version", VERSIONS)
def test_removed_keys_are_refused_by_both(version, tmp_path):
    site = Site(tmp_path, version)
    settings = site.settings()
    clean = hc.build_config(settings, "hs1")
    reactions = {}
    for key in leaf_entries(version):
        value = VALUES.get(key, True)
        overrides = with_key({}, key, value)
        with pytest.raises(PlanError) as info:
            hc.build_config({**settings, "config_overrides": overrides}, "hs1")
        ours = [str(p) for p in info.value.problems]
        assert any(p.startswith("host hs1: headscale_config_overrides: ") and key in p for p in ours), ours

        result = site.configtest(with_key(clean, key, value))
        output = result.stdout + result.stderr
        if result.returncode != 0:
            reactions[key] = "fatal"
            assert key in output, output
        elif f'"{key}" configuration key is deprecated' in output:
            reactions[key] = "warn"
        else:
            reactions[key] = "ignored"
    expected = {key: expected_reaction(key, version) for key in reactions}
    assert reactions == expected
    assert {key for key, reaction in reactions.items() if reaction == "fatal"} >= FATAL


# -- serve: the provided certificate and the DERP map --------------------------------------------------------

RELAYS = [
    {
        "inventory_hostname": "derp-fra",
        "region_id": 901,
        "region_code": "fra",
        "region_name": "Frankfurt",
        "hostname": "derp-fra.example.org",
        "ipv4": "192.168.50.11",
        "ipv6": "2a01:4f8:c0c:1::11",
        "stun_port": 3478,
        "derp_port": 443,
    },
    {
        "inventory_hostname": "derp-nyc",
        "region_id": 902,
        "hostname": "derp-nyc.example.org",
        "ipv4": "10.20.30.40",
        "stun_port": 3479,
        "derp_port": 8443,
    },
]


def write_derp_map(directory: Path) -> tuple[Path, dict]:
    from ansible.plugins.filter.core import to_nice_yaml

    derp_map = dm.derp_map(RELAYS, "hs1")
    path = directory / "derp.yaml"
    path.write_text(to_nice_yaml(derp_map, indent=2), encoding="utf-8")
    return path, derp_map


def served_derp_regions(metrics_port: int) -> dict[int, dict]:
    """The DERP map a running Headscale serves, from its debug endpoint: /debug/derp (0.27 on, a summary)
    or /debug/derpmap (0.26, tailcfg's JSON), as {region ID: {region_name, nodes: [{name, hostname,
    derp_port, stun_port}]}}."""
    base = f"http://127.0.0.1:{metrics_port}/debug"
    try:
        request = urllib.request.Request(f"{base}/derp", headers={"Accept": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            summary = json.load(response)["regions"]
        return {
            int(region_id): {
                "region_name": region["region_name"],
                "nodes": [{**node, "stun_port": node.get("stun_port", 0)} for node in region["nodes"]],
            }
            for region_id, region in summary.items()
        }
    except urllib.error.HTTPError as exc:
        if exc.code != 404:
            raise
    with urllib.request.urlopen(f"{base}/derpmap", timeout=10) as response:
        full = json.load(response)["Regions"]
    return {
        int(region_id): {
            "region_name": region["RegionName"],
            "nodes": [
                {
                    "name": node["Name"],
                    "hostname": node["HostName"],
                    "derp_port": node.get("DERPPort", 0),
                    "stun_port": node.get("STUNPort", 0),
                }
                for node in region["Nodes"]
            ],
        }
        for region_id, region in full.items()
    }


@pytest.mark.parametrize("version", VERSIONS)
def test_serve_uses_the_certificate_and_the_derp_map(version, tmp_path):
    site = Site(tmp_path, version)
    derp_path, derp_map = write_derp_map(site.root / "etc")
    settings = site.settings(tls_mode="provided", derp_urls=[], derp_paths=[str(derp_path)])
    settings["derp_auto_update_enabled"] = False
    config_path = site.write(hc.build_config(settings, "hs1"))
    log = (site.root / "serve.log").open("w")
    process = subprocess.Popen(
        [binary(version), "serve", "-c", str(config_path)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={"PATH": os.environ.get("PATH", ""), "HOME": str(site.root)},
    )
    try:
        context = ssl.create_default_context(cafile=site.cert)
        deadline = time.monotonic() + 60
        while True:
            try:
                with (
                    socket.create_connection(("127.0.0.1", site.port), timeout=2) as raw,
                    context.wrap_socket(raw, server_hostname="hs.test") as tls,
                ):
                    presented = tls.getpeercert(binary_form=True)
                break
            except OSError:
                assert process.poll() is None, (site.root / "serve.log").read_text()
                assert time.monotonic() < deadline, (site.root / "serve.log").read_text()
                time.sleep(0.3)
        ours = x509.load_pem_x509_certificate(Path(site.cert).read_bytes())
        assert presented == ours.public_bytes(serialization.Encoding.DER)

        regions = served_derp_regions(site.metrics_port)
        assert sorted(regions) == sorted(derp_map["regions"])
        for region_id, region in derp_map["regions"].items():
            node = region["nodes"][0]
            assert regions[region_id]["region_name"] == region["regionname"]
            (shown,) = regions[region_id]["nodes"]
            assert shown == {
                "name": node["name"],
                "hostname": node["hostname"],
                "derp_port": node["derpport"],
                "stun_port": node["stunport"],
            }
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.mark.parametrize("version", VERSIONS)
def test_tailcfg_decodes_every_key_of_the_derp_map(version, tmp_path):
    go = shutil.which("go")
    assert go, f"the Go toolchain is needed to decode the DERP map with tailcfg ({HOW_TO_BUILD})"
    modcache = subprocess.run([go, "env", "GOMODCACHE"], capture_output=True, text=True, check=True).stdout.strip()
    source = Path(modcache) / f"github.com/juanfont/headscale@{version}"
    assert (source / "go.mod").exists(), f"{source} is missing: {HOW_TO_BUILD}"
    module = tmp_path / "derpcheck"
    (module / "cmd" / "derpcheck").mkdir(parents=True)
    for name in ("go.mod", "go.sum"):
        shutil.copyfile(source / name, module / name)
    shutil.copyfile(Path(__file__).parent / "derpcheck" / "main.go", module / "cmd" / "derpcheck" / "main.go")
    derp_path, derp_map = write_derp_map(tmp_path)
    env = dict(os.environ, GOFLAGS="-mod=mod", GOPROXY="off", GOTOOLCHAIN="local", CGO_ENABLED="0")
    result = subprocess.run(
        [go, "run", "./cmd/derpcheck", str(derp_path)],
        cwd=module,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    decoded = json.loads(result.stdout.strip().splitlines()[-1])
    for region_id, region in derp_map["regions"].items():
        seen = decoded["Regions"][str(region_id)]
        assert (seen["RegionID"], seen["RegionCode"], seen["RegionName"]) == (
            region["regionid"],
            region["regioncode"],
            region["regionname"],
        )
        node, (shown,) = region["nodes"][0], seen["Nodes"]
        assert shown["Name"] == node["name"] and shown["RegionID"] == node["regionid"]
        assert shown["HostName"] == node["hostname"]
        assert shown["IPv4"] == node["ipv4"] and shown.get("IPv6", "") == node.get("ipv6", "")
        assert shown.get("STUNPort", 0) == node["stunport"] and shown.get("DERPPort", 0) == node["derpport"]
        assert shown.get("STUNOnly", False) is node["stunonly"]
