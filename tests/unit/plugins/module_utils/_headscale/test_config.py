"""The Headscale config builder (plugins/module_utils/_headscale/config.py): the config each supported version
gets from the role's variables, and one test per validation rule, each checking the host and the variable."""

import ipaddress
import json
import re
from pathlib import Path

import pytest
import yaml
from ansible.plugins.filter.core import to_nice_yaml
from hypothesis import assume, given
from hypothesis import strategies as st

from ansible_collections.wgops.fleet.plugins.module_utils import _values as hv
from ansible_collections.wgops.fleet.plugins.module_utils._headscale import config as hc
from ansible_collections.wgops.fleet.plugins.module_utils._headscale import keys as hk
from ansible_collections.wgops.fleet.plugins.module_utils._problems import PlanError

ROLE_DEFAULTS = Path(__file__).resolve().parents[5] / "roles" / "headscale" / "defaults" / "main.yml"
HOST = "hs1"
TLS = {"tls_cert_path": "/etc/headscale/tls/headscale.crt", "tls_key_path": "/etc/headscale/tls/headscale.key"}
VERSIONS = ["0.26.1", "0.27.1", "0.28.0", "0.29.3"]


def build(**settings):
    return hc.build_config({**TLS, **settings}, HOST)


def problems(**settings) -> list[str]:
    with pytest.raises(PlanError) as info:
        build(**settings)
    return [str(problem) for problem in info.value.problems]


def refused(variable: str, pattern: str, **settings) -> list[str]:
    """Assert one problem names HOST and headscale_VARIABLE and matches `pattern`; return all problems."""
    found = problems(**settings)
    prefix = f"host {HOST}: headscale_{variable}: "
    assert any(m.startswith(prefix) and re.search(pattern, m) for m in found), found
    return found


def leaves(config, prefix=""):
    for key, value in config.items():
        if isinstance(value, dict) and value and f"{prefix}{key}" not in ("dns.nameservers.split",):
            yield from leaves(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}"


# -- defaults and output shape ----------------------------------------------------------------------


def role_defaults() -> dict:
    values = yaml.safe_load(ROLE_DEFAULTS.read_text(encoding="utf-8"))
    return {key.removeprefix("headscale_"): value for key, value in values.items()}


def test_module_defaults_mirror_the_role_defaults():
    defaults = role_defaults()
    templated = {key for key, value in defaults.items() if isinstance(value, str) and "{{" in value}
    assert templated == set(hc.TEMPLATED_DEFAULTS)
    assert {key: value for key, value in defaults.items() if key not in templated} == hc.DEFAULTS


def test_the_defaults_build_and_round_trip_through_to_nice_yaml():
    settings = {key: value for key, value in role_defaults().items() if key not in hc.TEMPLATED_DEFAULTS}
    config = hc.build_config({**settings, **TLS}, "hs1.example.net")
    assert yaml.safe_load(to_nice_yaml(config, indent=2, sort_keys=False)) == config
    assert config["server_url"] == "https://hs1.example.net"
    assert config["database"] == {
        "type": "sqlite",
        "sqlite": {"path": "/var/lib/headscale/db.sqlite", "write_ahead_log": True},
    }
    assert config["noise"] == {"private_key_path": "/var/lib/headscale/noise_private.key"}
    assert config["node"] == {"expiry": "0", "ephemeral": {"inactivity_timeout": "30m"}}
    assert config["tls_cert_path"] == TLS["tls_cert_path"]
    assert config["policy"] == {"mode": "file", "path": ""}
    assert "extra_records" not in config["dns"]


@pytest.mark.parametrize("version", VERSIONS)
def test_every_emitted_key_is_one_the_version_reads(version):
    config = build(version=version, derp_server_enabled=True, derp_server_ipv4="192.168.1.10")
    unknown = sorted(set(leaves(config)) - hk.known_keys(version))
    assert not unknown, unknown


@pytest.mark.parametrize("version", VERSIONS)
def test_postgres_and_extra_records_keys_are_known_too(version):
    config = build(
        version=version,
        database_type="postgres",
        dns_extra_records=[{"name": "a.tailnet.internal", "type": "A", "value": "100.64.0.5"}],
    )
    assert not set(leaves(config)) - hk.known_keys(version)


def test_keys_follow_the_version():
    old = build(version="0.26.1")
    assert old["ephemeral_node_inactivity_timeout"] == "30m"
    assert "node" not in old and "trusted_proxies" not in old
    assert "verify_clients" not in old["derp"]["server"]
    assert build(version="0.27.1")["derp"]["server"]["verify_clients"] is True
    assert "node" not in build(version="0.28.0")
    new = build(version="0.29.3", trusted_proxies=["10.0.0.5/32"], node_expiry="180d")
    assert new["trusted_proxies"] == ["10.0.0.5/32"]
    assert new["node"]["expiry"] == "180d"
    assert "ephemeral_node_inactivity_timeout" not in new


def test_settings_from_before_0_29_are_left_at_the_binary_default():
    # node.expiry and trusted_proxies do not exist before 0.29: the same inputs still build a 0.28 config
    config = build(version="0.28.0", trusted_proxies=["10.0.0.5/32"], node_expiry="90d")
    assert "trusted_proxies" not in config and "node" not in config


def test_the_version_must_be_supported():
    refused("version", r"0\.26, 0\.27, 0\.28, 0\.29", version="0.25.1")
    refused("version", r"not a supported", version="latest")
    assert build(version="v0.28.0")["ephemeral_node_inactivity_timeout"]


def test_every_problem_is_reported_at_once_under_one_header():
    with pytest.raises(hc.HeadscaleConfigError) as info:
        build(prefixes_v4="10.0.0.0/8", log_level="loud", database_type="mysql")
    assert isinstance(info.value, PlanError)
    assert len(info.value.problems) == 3
    assert str(info.value).startswith(f"the Headscale settings of host {HOST}: 3 problem(s):\n  - host {HOST}: ")


def test_unknown_setting_names_are_refused_with_a_suggestion():
    refused("sever_url", r"not a variable of the headscale role; did you mean headscale_server_url\?", sever_url="x")


def test_none_takes_the_default():
    assert build(listen_addr=None)["listen_addr"] == "0.0.0.0:443"


# -- prefixes -----------------------------------------------------------------------------------------


def test_prefixes_must_be_inside_the_tailscale_ranges():
    refused("prefixes_v4", r"outside 100\.64\.0\.0/10", prefixes_v4="10.0.0.0/8")
    refused("prefixes_v6", r"outside fd7a:115c:a1e0::/48", prefixes_v6="fd00::/48")
    refused("prefixes_v4", r"outside", prefixes_v4="fd7a:115c:a1e0::/64")


def test_prefixes_must_be_cidrs_with_the_host_bits_zero():
    refused("prefixes_v4", r"not a valid IPv4 CIDR", prefixes_v4="100.64.0.1/10")
    refused("prefixes_v6", r"not a valid IPv6 CIDR", prefixes_v6="nonsense")


def test_one_prefix_is_needed():
    refused("prefixes_v4", r"at least one is required", prefixes_v4="", prefixes_v6="")
    assert build(prefixes_v6="")["prefixes"] == {"v4": "100.64.0.0/10", "v6": "", "allocation": "sequential"}


def test_allocation_is_sequential_or_random():
    refused("prefixes_allocation", r"not one of sequential, random", prefixes_allocation="next")
    assert build(prefixes_allocation="random")["prefixes"]["allocation"] == "random"


@given(st.integers(10, 32), st.integers(0, 2**22 - 1))
def test_any_ipv4_prefix_inside_cgnat_is_accepted(length, offset):
    network = ipaddress.ip_network((int(hc.CGNAT.network_address) + offset, 32), strict=False).supernet(
        new_prefix=length
    )
    assert build(prefixes_v4=str(network))["prefixes"]["v4"] == str(network)


@given(st.integers(0, 2**32 - 1), st.integers(1, 32))
def test_any_ipv4_prefix_outside_cgnat_is_refused(address, length):
    network = ipaddress.IPv4Network((address, length), strict=False)
    assume(not network.subnet_of(hc.CGNAT))
    refused("prefixes_v4", r"outside 100\.64\.0\.0/10", prefixes_v4=str(network))


@given(st.integers(48, 128), st.integers(0, 2**80 - 1))
def test_any_ipv6_prefix_inside_the_tailscale_ula_is_accepted(length, offset):
    network = ipaddress.IPv6Network((int(hc.TAILSCALE_ULA.network_address) + offset, 128)).supernet(new_prefix=length)
    assert build(prefixes_v6=str(network))["prefixes"]["v6"] == str(network)


@given(st.integers(0, 2**128 - 1), st.integers(1, 128))
def test_any_ipv6_prefix_outside_the_tailscale_ula_is_refused(address, length):
    network = ipaddress.IPv6Network((address, length), strict=False)
    assume(not network.subnet_of(hc.TAILSCALE_ULA))
    refused("prefixes_v6", r"outside fd7a:115c:a1e0::/48", prefixes_v6=str(network))


# -- server URL, listen addresses ------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["hs.example.com", "ftp://hs.example.com", "HTTPS://hs.example.com", ""])
def test_server_url_needs_http_or_https(url):
    refused("server_url", r"must start with https:// or http://", server_url=url)


@pytest.mark.parametrize(
    ("url", "pattern"),
    [
        ("https://", r"no usable host name"),
        ("https://hs.example.com:80a", r"invalid port"),
        ("https://hs.example.com/headscale", r"has a path"),
        ("https://user@hs.example.com", r"no usable host name"),
    ],
)
def test_server_url_is_a_plain_origin(url, pattern):
    refused("server_url", pattern, server_url=url)


def test_server_url_may_end_with_a_slash_or_carry_a_port():
    assert build(server_url="https://hs.example.com/")["server_url"] == "https://hs.example.com/"
    assert build(server_url="https://hs.example.com:8443")["server_url"] == "https://hs.example.com:8443"


def test_server_url_host_must_not_be_the_base_domain():
    refused(
        "dns_base_domain",
        r"cannot use the same domain as base_domain",
        server_url="https://tailnet.example.com",
        dns_base_domain="tailnet.example.com",
    )


@pytest.mark.parametrize("url", ["https://hs.tailnet.example.com", "https://a.b.tailnet.example.com/"])
def test_server_url_host_must_not_be_inside_the_base_domain(url):
    refused("dns_base_domain", r"cannot be part of base_domain", server_url=url, dns_base_domain="tailnet.example.com")


@pytest.mark.parametrize(
    ("url", "base"),
    [
        ("https://hs.example.com", "tailnet.example.com"),  # siblings are fine
        ("https://example.com", "tailnet.example.com"),  # a parent of the base domain is fine
        ("https://hs.example.com", "example.com.tailnet"),
        ("https://mytailnet.example.com", "tailnet.example.com"),  # label-wise, not string suffix
        # isSafeServerURL compares url.Host (with the port) label by label and Hostname() exactly, without
        # lowercasing: reproduced as is, so these pass like they pass Headscale
        ("https://hs.tailnet.example.com:8443", "tailnet.example.com"),
        ("https://HS.Tailnet.Example.com", "tailnet.example.com"),
    ],
)
def test_the_server_url_check_is_headscale_s(url, base):
    assert build(server_url=url, dns_base_domain=base)["dns"]["base_domain"] == base


def test_the_same_host_with_a_port_is_still_the_same_domain():
    refused(
        "dns_base_domain",
        r"same domain",
        server_url="https://tailnet.example.com:8443",
        dns_base_domain="tailnet.example.com",
    )


@pytest.mark.parametrize("variable", ["listen_addr", "grpc_listen_addr", "derp_server_stun_listen_addr"])
@pytest.mark.parametrize("value", ["443", "0.0.0.0", "[::]443", "0.0.0.0:99999", "bad host:443"])
def test_listen_addresses_are_host_port(variable, value):
    refused(variable, r"HOST:PORT|no valid port|neither an IP address", **{variable: value})


def test_listen_addresses_may_leave_the_host_out_or_use_ipv6():
    config = build(listen_addr=":8080", grpc_listen_addr="[::1]:50443")
    assert (config["listen_addr"], config["grpc_listen_addr"]) == (":8080", "[::1]:50443")


def test_an_empty_metrics_address_needs_0_28():
    assert build(version="0.28.0", metrics_listen_addr="")["metrics_listen_addr"] == ""
    refused("metrics_listen_addr", r"only from Headscale 0\.28", version="0.27.1", metrics_listen_addr="")


def test_insecure_grpc_only_on_loopback():
    refused("grpc_allow_insecure", r"in the clear", grpc_allow_insecure=True, grpc_listen_addr="0.0.0.0:50443")
    assert build(grpc_allow_insecure=True, grpc_listen_addr="127.0.0.1:50443")["grpc_allow_insecure"] is True


@pytest.mark.parametrize("variable", ["unix_socket", "data_dir", "config_dir", "sqlite_path"])
def test_paths_are_absolute(variable):
    refused(variable, r"not an absolute path", **{variable: "relative/path"})


@pytest.mark.parametrize("variable", ["grpc_allow_insecure", "disable_check_updates", "dns_magic_dns"])
def test_booleans_are_booleans(variable):
    refused(variable, r"expected true or false", **{variable: "yes"})


# -- trusted proxies -------------------------------------------------------------------------------------


@pytest.mark.parametrize("zero", ["0.0.0.0/0", "::/0", "10.0.0.0/0"])
def test_trusted_proxies_refuse_the_zero_range(zero):
    refused("trusted_proxies", r"0\.0\.0\.0/0 and ::/0 are not allowed", trusted_proxies=[zero])


@pytest.mark.parametrize(("entry", "pattern"), [("proxy.local", r"not a CIDR"), ("10.0.0.5", r"no prefix length")])
def test_trusted_proxies_are_cidrs(entry, pattern):
    refused("trusted_proxies", pattern, trusted_proxies=[entry])


def test_trusted_proxies_must_be_a_list():
    refused("trusted_proxies", r"expected a list of strings", trusted_proxies="10.0.0.5/32")


# -- TLS ------------------------------------------------------------------------------------------------


def test_tls_mode_is_one_of_five():
    refused("tls_mode", r"not one of internal_ca, provided, acme, proxy, none", tls_mode="letsencrypt")


@pytest.mark.parametrize("mode", ["internal_ca", "provided"])
@pytest.mark.parametrize("variable", ["tls_cert_path", "tls_key_path"])
def test_file_modes_need_the_certificate_and_key(mode, variable):
    refused(variable, rf"tls_mode {mode} needs the certificate and key", tls_mode=mode, **{variable: ""})


def test_certificate_paths_are_absolute():
    refused("tls_cert_path", r"not an absolute path", tls_mode="provided", tls_cert_path="cert.pem")


def acme(**settings):
    values = {
        "tls_mode": "acme",
        "tls_cert_path": "",
        "tls_key_path": "",
        "server_url": "https://hs.example.com",
        "tls_letsencrypt_hostname": "hs.example.com",
        "acme_email": "ops@example.com",
    }
    values.update(settings)
    return values


def test_acme_builds():
    config = build(**acme())
    assert config["tls_letsencrypt_hostname"] == "hs.example.com"
    assert config["tls_cert_path"] == config["tls_key_path"] == ""
    assert config["tls_letsencrypt_cache_dir"] == "/var/lib/headscale/cache"


def test_acme_needs_the_hostname():
    refused("tls_letsencrypt_hostname", r"tls_mode acme needs the DNS name", **acme(tls_letsencrypt_hostname=""))


def test_acme_and_certificate_files_exclude_each_other():
    refused(
        "tls_cert_path",
        r"set either tls_letsencrypt_hostname or tls_cert_path/tls_key_path, not both",
        **acme(tls_cert_path="/etc/ssl/hs.pem"),
    )


def test_acme_challenge_type():
    refused(
        "tls_letsencrypt_challenge_type",
        r"not one of HTTP-01, TLS-ALPN-01",
        **acme(tls_letsencrypt_challenge_type="DNS-01"),
    )


def test_acme_hostname_is_the_server_url_host():
    refused("tls_letsencrypt_hostname", r"not the host of server_url", **acme(tls_letsencrypt_hostname="other.example"))


def test_acme_contact():
    refused("acme_email", r"not an e-mail address", **acme(acme_email="ops"))
    refused("acme_url", r"not an https:// ACME directory", **acme(acme_url="http://acme.local/dir"))
    assert build(**acme(acme_email=""))["acme_email"] == ""


def test_letsencrypt_hostname_only_with_acme():
    refused("tls_letsencrypt_hostname", r"only used with tls_mode acme", tls_letsencrypt_hostname="hs.example.com")


@pytest.mark.parametrize("mode", ["internal_ca", "provided", "acme"])
def test_tls_modes_need_an_https_server_url(mode):
    settings = acme(tls_mode=mode, server_url="http://hs.example.com", tls_letsencrypt_hostname="")
    if mode != "acme":
        settings.update(TLS, tls_letsencrypt_hostname="")
    refused("server_url", rf"not https:// but Headscale serves TLS \(tls_mode {mode}\)", **settings)


def proxy(**settings):
    values = {"tls_mode": "proxy", "tls_cert_path": "", "tls_key_path": "", "listen_addr": "127.0.0.1:8080"}
    values.update(settings)
    return values


def test_proxy_behind_a_local_reverse_proxy():
    config = build(**proxy())
    assert config["tls_cert_path"] == "" and config["listen_addr"] == "127.0.0.1:8080"


def test_proxy_needs_an_https_server_url():
    refused("server_url", r"reverse proxy serves TLS.*tls_mode none", **proxy(server_url="http://hs.example.com"))


def test_proxy_listens_on_loopback_unless_the_proxies_are_trusted():
    refused("listen_addr", r"reachable without the proxy", **proxy(listen_addr="0.0.0.0:8080"))
    config = build(**proxy(listen_addr="10.0.0.2:8080", trusted_proxies=["10.0.0.1/32"]))
    assert config["trusted_proxies"] == ["10.0.0.1/32"]


def test_proxy_and_none_take_no_certificate():
    refused("tls_cert_path", r"serves no TLS with tls_mode proxy", **proxy(tls_cert_path="/etc/ssl/hs.pem"))
    refused(
        "tls_key_path", r"serves no TLS with tls_mode none", tls_mode="none", tls_cert_path="", server_url="http://h"
    )


def test_none_needs_an_http_server_url():
    refused("server_url", r"nothing serves TLS \(tls_mode none\)", tls_mode="none", tls_cert_path="", tls_key_path="")
    config = build(tls_mode="none", tls_cert_path="", tls_key_path="", server_url="http://hs.example.com:8080")
    assert config["server_url"] == "http://hs.example.com:8080"


# -- database --------------------------------------------------------------------------------------------


def test_database_type():
    refused("database_type", r"not one of sqlite, postgres", database_type="sqlite3")


def test_postgres_builds_with_an_empty_password():
    config = build(database_type="postgres", postgres_host="/var/run/postgresql")
    assert config["database"] == {
        "type": "postgres",
        "postgres": {
            "host": "/var/run/postgresql",
            "port": 5432,
            "name": "headscale",
            "user": "headscale",
            "ssl": "false",
        },
    }


def test_the_postgres_password_stays_out_of_the_config():
    config = build(database_type="postgres", postgres_password="S3cret-pw:x")
    assert "pass" not in config["database"]["postgres"]
    assert "S3cret-pw" not in to_nice_yaml(config, indent=2, sort_keys=False)
    # viper's AutomaticEnv name of database.postgres.pass, which the role's EnvironmentFile sets
    assert hc.POSTGRES_PASSWORD_ENV == "HEADSCALE_DATABASE_POSTGRES_PASS"


def test_a_mistyped_postgres_password_is_not_echoed():
    found = refused("postgres_password", r"got a number; quote it", database_type="postgres", postgres_password=73915)
    assert not any("73915" in message for message in found), found


@pytest.mark.parametrize("password", ["two words", "it's", "back\\slash", "new\nline", "tab\there"])
def test_postgres_password_characters_that_libpq_would_change(password):
    found = refused("postgres_password", r"white space, a quote", database_type="postgres", postgres_password=password)
    assert not any(password in message for message in found), found


def test_postgres_password_punctuation_is_fine():
    assert build(database_type="postgres", postgres_password='p@ss:w"rd$%&*#!')["database"]["type"] == "postgres"


@pytest.mark.parametrize("variable", ["postgres_host", "postgres_name", "postgres_user"])
def test_postgres_needs_host_name_and_user(variable):
    refused(variable, r"non-empty string", database_type="postgres", **{variable: ""})


def test_postgres_port_and_ssl():
    refused("postgres_port", r"from 1 to 65535", database_type="postgres", postgres_port=0)
    refused("postgres_ssl", r"libpq sslmode", database_type="postgres", postgres_ssl="maybe")
    assert build(database_type="postgres", postgres_ssl="verify-full")["database"]["postgres"]["ssl"] == "verify-full"
    assert build(database_type="postgres", postgres_ssl=True)["database"]["postgres"]["ssl"] == "true"


def test_postgres_names_without_white_space():
    refused("postgres_name", r"white space", database_type="postgres", postgres_name="head scale")


# -- DNS -------------------------------------------------------------------------------------------------


def test_magic_dns_needs_a_base_domain():
    refused("dns_base_domain", r"must be set when using MagicDNS", dns_base_domain="")
    assert build(dns_base_domain="", dns_magic_dns=False)["dns"]["magic_dns"] is False


def test_base_domain_is_a_dns_name():
    refused("dns_base_domain", r"not a DNS name", dns_base_domain="tail net")


def test_override_local_dns_needs_global_nameservers():
    refused("dns_nameservers_global", r"must be set when dns.override_local_dns", dns_override_local_dns=True)
    config = build(dns_override_local_dns=True, dns_nameservers_global=["1.1.1.1", "https://dns.nextdns.io/abc"])
    assert config["dns"]["nameservers"]["global"] == ["1.1.1.1", "https://dns.nextdns.io/abc"]


def test_global_nameservers_are_addresses_or_doh_urls():
    refused("dns_nameservers_global", r"neither an IP address nor an https://", dns_nameservers_global=["dns.local"])


def test_split_nameservers_map_domains_to_lists_of_addresses():
    split = {"corp.example": ["10.0.0.53", "fd00::53"]}
    assert build(dns_nameservers_split=split)["dns"]["nameservers"]["split"] == split
    refused("dns_nameservers_split", r"expected a mapping", dns_nameservers_split=["corp.example"])
    refused("dns_nameservers_split", r"non-empty list", dns_nameservers_split={"corp.example": "10.0.0.53"})
    refused("dns_nameservers_split", r"non-empty list", dns_nameservers_split={"corp.example": []})
    refused("dns_nameservers_split", r"neither an IP address", dns_nameservers_split={"corp.example": ["ns1"]})
    refused("dns_nameservers_split", r"not a DNS name", dns_nameservers_split={"corp example": ["10.0.0.53"]})


def test_search_domains_are_dns_names():
    refused("dns_search_domains", r"not a DNS name", dns_search_domains=["-bad.example"])


@pytest.mark.parametrize(
    ("record", "pattern"),
    [
        ({"name": "a.tailnet.internal", "type": "A", "value": "fd7a::1"}, r"not an IPv4 address \(type A\)"),
        ({"name": "a.tailnet.internal", "type": "AAAA", "value": "100.64.0.1"}, r"not an IPv6 address"),
        ({"name": "a.tailnet.internal", "type": "CNAME", "value": "b"}, r"not A or AAAA"),
        ({"name": "a b", "type": "A", "value": "100.64.0.1"}, r"not a DNS name"),
        ({"name": "a.tailnet.internal", "type": "A"}, r"exactly \{name, type, value\}"),
        ({"name": "a", "type": "A", "value": "100.64.0.1", "ttl": 60}, r"exactly \{name, type, value\}"),
    ],
)
def test_extra_records(record, pattern):
    refused("dns_extra_records", pattern, dns_extra_records=[record])


def test_extra_records_are_written_only_when_set():
    records = [{"name": "grafana.tailnet.internal", "type": "AAAA", "value": "fd7a:115c:a1e0::3"}]
    assert build(dns_extra_records=records)["dns"]["extra_records"] == records


# -- DERP ------------------------------------------------------------------------------------------------


def derp(**settings):
    return {"derp_server_enabled": True, "derp_server_ipv4": "192.168.10.2", **settings}


def test_the_embedded_derp_server_builds():
    server = build(**derp(derp_server_ipv6="2a01:4f8::2"))["derp"]["server"]
    assert server["enabled"] is True
    assert (server["ipv4"], server["ipv6"]) == ("192.168.10.2", "2a01:4f8::2")
    assert server["private_key_path"] == "/var/lib/headscale/derp_server_private.key"


def test_the_embedded_derp_server_needs_its_ipv4_address():
    refused("derp_server_ipv4", r"is empty; the embedded DERP server is enabled", **derp(derp_server_ipv4=""))


@pytest.mark.parametrize("address", ["192.0.2.1", "198.51.100.1", "203.0.113.77"])
def test_documentation_ipv4_addresses_are_refused(address):
    refused("derp_server_ipv4", r"documentation address", **derp(derp_server_ipv4=address))


@pytest.mark.parametrize(
    ("address", "pattern"),
    [("127.0.0.1", "loopback"), ("0.0.0.0", "unspecified"), ("fd00::1", "not an IPv4"), ("1.2.3", "not an IPv4")],
)
def test_the_embedded_derp_ipv4_must_be_real(address, pattern):
    refused("derp_server_ipv4", pattern, **derp(derp_server_ipv4=address))


@pytest.mark.parametrize(
    ("address", "pattern"),
    [("2001:db8::1", "documentation"), ("::1", "loopback"), ("fe80::1", "link-local"), ("10.0.0.1", "not an IPv6")],
)
def test_the_embedded_derp_ipv6_must_be_real_if_set(address, pattern):
    refused("derp_server_ipv6", pattern, **derp(derp_server_ipv6=address))


def test_disabled_derp_server_addresses_are_not_checked():
    assert build(derp_server_ipv4="198.51.100.1")["derp"]["server"]["enabled"] is False


@pytest.mark.parametrize("region", [1, 899, 1000, "999", True])
def test_the_embedded_region_id_is_900_to_999(region):
    refused("derp_server_region_id", r"from 900 to 999", **derp(derp_server_region_id=region))


def test_the_embedded_derp_server_needs_tls():
    refused(
        "derp_server_enabled",
        r"only over TLS",
        **derp(tls_mode="none", server_url="http://hs.example.com", tls_cert_path="", tls_key_path=""),
    )


def test_derp_urls_are_http_urls():
    refused("derp_urls", r"not an http\(s\) URL", derp_urls=["controlplane.tailscale.com/derpmap/default"])


def test_derp_paths_are_absolute():
    refused("derp_paths", r"not an absolute path", derp_paths=["derp.yaml"])


def test_some_derp_relay_is_needed():
    refused("derp_urls", r"no DERP relays", derp_urls=[])
    assert build(derp_urls=[], derp_paths=["/etc/headscale/derp.yaml"])["derp"]["paths"] == ["/etc/headscale/derp.yaml"]


def test_derp_update_frequency():
    refused("derp_update_frequency", r"must be more than 0", derp_update_frequency="0")
    refused("derp_update_frequency", r"not a Go duration", derp_update_frequency="3 hours")
    assert build(derp_update_frequency="0", derp_auto_update_enabled=False)["derp"]["auto_update_enabled"] is False


# -- durations, logs -------------------------------------------------------------------------------------


@pytest.mark.parametrize("timeout", ["65s", "1m", "60s", "0"])
def test_the_inactivity_timeout_must_be_more_than_65s(timeout):
    refused("ephemeral_inactivity_timeout", r"too low, it must be more than 65s", ephemeral_inactivity_timeout=timeout)


def test_the_inactivity_timeout_just_above_the_minimum():
    assert build(ephemeral_inactivity_timeout="65.001s")["node"]["ephemeral"]["inactivity_timeout"] == "65.001s"
    assert build(ephemeral_inactivity_timeout="1m6s")["node"]["ephemeral"]["inactivity_timeout"] == "1m6s"


@pytest.mark.parametrize("timeout", ["30", 1800, "30 m", "30min", "1d", "m30"])
def test_the_inactivity_timeout_is_a_go_duration(timeout):
    refused("ephemeral_inactivity_timeout", r"not a Go duration", ephemeral_inactivity_timeout=timeout)


@pytest.mark.parametrize(
    ("text", "nanoseconds"),
    [
        ("0", 0),
        ("1h30m", 5400 * 10**9),
        ("1.5h", 5400 * 10**9),
        ("300ms", 3 * 10**8),
        ("-2m", -120 * 10**9),
        ("1h1h", 7200 * 10**9),
        (".5s", 5 * 10**8),
        ("2us", 2000),
        ("2\u00b5s", 2000),
    ],
)
def test_go_durations(text, nanoseconds):
    assert hv.go_duration_ns(text) == nanoseconds


@pytest.mark.parametrize("text", ["", "1", "h", "1.h.", ".s", "1hm", "1 h", "+", "3000000h"])
def test_not_go_durations(text):
    with pytest.raises(ValueError):
        hv.go_duration_ns(text)


@given(st.lists(st.tuples(st.integers(0, 10**4), st.sampled_from(["ns", "us", "ms", "s", "m", "h"])), min_size=1))
def test_generated_go_durations_parse_to_their_sum(parts):
    units = {"ns": 1, "us": 10**3, "ms": 10**6, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}
    text = "".join(f"{value}{unit}" for value, unit in parts)
    assert hv.go_duration_ns(text) == sum(value * units[unit] for value, unit in parts)


@pytest.mark.parametrize("expiry", ["0", 0, "180d", "1y", "2w3d", "90d12h30m", "1500ms"])
def test_node_expiry_accepts_prometheus_durations(expiry):
    assert build(node_expiry=expiry)["node"]["expiry"] == str(expiry)


@pytest.mark.parametrize("expiry", ["", "180", "1d1y", "1d1d", "1.5d", "-1d", "180 days", 86400])
def test_node_expiry_refuses_what_headscale_would_ignore(expiry):
    refused("node_expiry", r"not a duration like 180d", node_expiry=expiry)


def test_log_level_and_format():
    refused("log_level", r"not one of trace, debug", log_level="verbose")
    refused("log_format", r"not one of text, json", log_format="yaml")
    assert build(log_level="warn", log_format="json")["log"] == {"level": "warn", "format": "json"}


# -- policy ------------------------------------------------------------------------------------------


def test_policy_text():
    policy = {"acls": [{"action": "accept", "src": ["*"], "dst": ["*:*"]}]}
    assert json.loads(hc.policy_text(policy)) == policy
    assert hc.policy_text(policy).endswith("}\n")
    hujson = '{\n  // comment\n  "acls": [],\n}\n'
    assert hc.policy_text(hujson) == hujson
    for empty in ({}, "", "  \n", None):
        assert hc.policy_text(empty) is None
    with pytest.raises(TypeError):
        hc.policy_text(["acls"])


def test_policy_path_follows_the_mode_and_the_policy():
    assert build(policy={"acls": []})["policy"] == {"mode": "file", "path": "/etc/headscale/policy.hujson"}
    assert build(policy={"acls": []}, policy_mode="database")["policy"] == {"mode": "database", "path": ""}
    assert build(policy_path="/srv/hs/policy.hujson")["policy"]["path"] == "/srv/hs/policy.hujson"
    assert build(policy_path="")["policy"]["path"] == ""
    refused("policy_mode", r"not one of file, database", policy_mode="db")
    refused("policy", r"expected a policy dict or a HuJSON string", policy=["acls"])


# -- overrides -------------------------------------------------------------------------------------------


def test_overrides_are_merged_last():
    config = build(config_overrides={"oidc": {"issuer": "https://sso.example.com", "client_id": "hs"}})
    assert config["oidc"] == {"issuer": "https://sso.example.com", "client_id": "hs"}
    config = build(config_overrides={"derp": {"server": {"automatically_add_embedded_derp_region": False}}})
    assert config["derp"]["server"]["automatically_add_embedded_derp_region"] is False
    assert config["derp"]["server"]["region_id"] == 999


@pytest.mark.parametrize("entry", hk.REMOVED_KEYS, ids=lambda entry: entry.key)
def test_every_removed_key_is_refused_with_its_replacement(entry):
    override: dict = {}
    node = override
    *parents, leaf = entry.key.split(".")
    for parent in parents:
        node = node.setdefault(parent, {})
    node[leaf] = "x"
    found = refused("config_overrides", re.escape(entry.key), config_overrides=override)
    message = next(m for m in found if entry.key in m)
    assert f"Headscale {entry.version}" in message and entry.hint in message
    if entry.renamed_to:
        assert entry.renamed_to in message


def test_removed_children_are_named_one_by_one():
    found = refused(
        "config_overrides",
        r"dns_config\.nameservers was renamed to dns\.nameservers\.global in Headscale 0\.23\.0",
        config_overrides={"dns_config": {"nameservers": ["1.1.1.1"], "magic": True}},
    )
    assert any("dns_config.magic: dns_config was replaced by dns" in m for m in found)


def test_randomize_client_port_points_to_the_policy():
    refused(
        "config_overrides",
        r"randomize_client_port was removed in Headscale 0\.29\.0; put \"randomizeClientPort\": true",
        config_overrides={"randomize_client_port": True},
    )


def test_keys_removed_later_are_fine_on_older_versions():
    config = build(version="0.28.0", config_overrides={"randomize_client_port": True, "oidc": {"expiry": "30d"}})
    assert config["randomize_client_port"] is True and config["oidc"]["expiry"] == "30d"
    refused(
        "config_overrides",
        r"oidc\.expiry was renamed to node\.expiry in Headscale 0\.29\.0",
        config_overrides={"oidc": {"expiry": "30d"}},
    )


def test_removed_keys_by_version():
    assert "oidc.expiry" not in hk.removed_keys("0.28.0")
    assert hk.removed_keys("0.29.3")["oidc.expiry"].renamed_to == "node.expiry"
    assert hk.removed_keys("0.26.1")["oidc.strip_email_domain"].version == "0.26.0"
    assert "oidc.strip_email_domain" not in hk.removed_keys("0.25.1")
    assert set(hk.removed_keys("0.29.3")) == {entry.key for entry in hk.REMOVED_KEYS}


@pytest.mark.parametrize("version", VERSIONS)
def test_removed_keys_are_not_known_keys(version):
    assert not set(hk.removed_keys(version)) & hk.known_keys(version) - {"ephemeral_node_inactivity_timeout"}


def test_unknown_override_keys_are_refused_with_a_suggestion():
    refused(
        "config_overrides",
        r"servr_url is not a key Headscale 0\.29 reads; did you mean server_url\?",
        config_overrides={"servr_url": "x"},
    )
    refused(
        "config_overrides",
        r"oidc\.isuer is not a key.*did you mean oidc\.issuer\?",
        config_overrides={"oidc": {"isuer": "https://sso"}},
    )


def test_keys_of_newer_versions_are_refused_on_older_ones():
    refused(
        "config_overrides",
        r"auto_update is new in Headscale 0\.29 \(the version is 0\.28\); set it after upgrading",
        version="0.28.0",
        config_overrides={"auto_update": {"enabled": True}},
    )
    assert build(config_overrides={"auto_update": {"enabled": True}})["auto_update"] == {"enabled": True}


def test_tuning_key_dropped_in_0_29():
    assert build(version="0.28.0", config_overrides={"tuning": {"register_cache_cleanup": "5m"}})["tuning"]
    refused(
        "config_overrides",
        r"tuning\.register_cache_cleanup is not a key",
        config_overrides={"tuning": {"register_cache_cleanup": "5m"}},
    )


@pytest.mark.parametrize(
    ("override", "variable"),
    [
        ({"server_url": "https://x"}, "headscale_server_url"),
        ({"dns": {"magic_dns": False}}, "headscale_dns_magic_dns"),
        ({"database": {"postgres": {"pass": "x"}}}, "headscale_postgres_password"),
        ({"node": {"ephemeral": {"inactivity_timeout": "1h"}}}, "headscale_ephemeral_inactivity_timeout"),
    ],
)
def test_keys_built_from_variables_cannot_be_overridden(override, variable):
    refused("config_overrides", rf"is built from {variable}; set {variable} instead", config_overrides=override)


def test_the_old_inactivity_key_is_a_variable_before_0_29():
    refused(
        "config_overrides",
        r"built from headscale_ephemeral_inactivity_timeout",
        version="0.28.0",
        config_overrides={"ephemeral_node_inactivity_timeout": "1h"},
    )


@pytest.mark.parametrize("override", [{"dns.magic_dns": True}, {"OIDC": {"issuer": "x"}}])
def test_override_keys_are_lowercase_and_nested(override):
    refused("config_overrides", r"write keys lowercase and nested", config_overrides=override)


def test_sections_take_mappings():
    refused("config_overrides", r"oidc is a section; give it a mapping", config_overrides={"oidc": "x"})
    refused("config_overrides", r"expected a mapping", config_overrides=["oidc"])


def test_free_form_leaves_are_not_checked_below():
    config = build(config_overrides={"oidc": {"extra_params": {"domain_hint": "example.com"}}})
    assert config["oidc"]["extra_params"] == {"domain_hint": "example.com"}


def test_extra_records_path_excludes_extra_records():
    records = [{"name": "a.tailnet.internal", "type": "A", "value": "100.64.0.9"}]
    refused(
        "config_overrides",
        r"mutually exclusive",
        dns_extra_records=records,
        config_overrides={"dns": {"extra_records_path": "/etc/headscale/records.json"}},
    )
    assert build(config_overrides={"dns": {"extra_records_path": "/etc/headscale/records.json"}})["dns"]


def test_the_oidc_client_secret_goes_to_its_own_file():
    overrides = {"oidc": {"issuer": "https://sso.example.com", "client_id": "hs", "client_secret": "Xy-oidc-secret"}}
    config = build(config_dir="/srv/hs/etc", config_overrides=overrides)
    assert config["oidc"] == {
        "issuer": "https://sso.example.com",
        "client_id": "hs",
        "client_secret_path": "/srv/hs/etc/oidc_client_secret",
    }
    assert "Xy-oidc-secret" not in to_nice_yaml(config, indent=2, sort_keys=False)
    assert overrides["oidc"]["client_secret"] == "Xy-oidc-secret"  # the caller's settings are left alone


def test_a_given_oidc_client_secret_path_is_kept():
    overrides = {"oidc": {"issuer": "https://sso.example.com", "client_secret_path": "/run/credentials/oidc"}}
    assert build(config_overrides=overrides)["oidc"]["client_secret_path"] == "/run/credentials/oidc"


def test_a_mistyped_oidc_client_secret_is_not_echoed():
    found = refused(
        "config_overrides",
        r"oidc\.client_secret: expected a string, got a number",
        config_overrides={"oidc": {"client_secret": 48213}},
    )
    assert not any("48213" in message for message in found), found


def test_oidc_checks_of_headscale():
    refused(
        "config_overrides",
        r"oidc\.client_secret and oidc\.client_secret_path are mutually exclusive",
        config_overrides={"oidc": {"client_secret": "s", "client_secret_path": "/etc/headscale/oidc"}},
    )
    refused(
        "config_overrides",
        r"'plain' or 'S256'",
        config_overrides={"oidc": {"pkce": {"enabled": True, "method": "md5"}}},
    )


def test_manual_embedded_region_needs_a_derp_path():
    refused(
        "config_overrides",
        r"automatically_add_embedded_derp_region false needs",
        **derp(config_overrides={"derp": {"server": {"automatically_add_embedded_derp_region": False}}}),
    )


@pytest.mark.parametrize(
    ("ha", "pattern"),
    [
        ({"probe_interval": "1s"}, r"probe_interval must be >= 2s"),
        ({"probe_interval": "10s", "probe_timeout": "500ms"}, r"probe_timeout must be >= 1s"),
        ({"probe_interval": "5s", "probe_timeout": "5s"}, r"must be less than node\.routes\.ha\.probe_interval"),
        ({"probe_interval": "ten"}, r"not a Go duration"),
    ],
)
def test_ha_probe_checks_of_headscale(ha, pattern):
    refused("config_overrides", pattern, config_overrides={"node": {"routes": {"ha": ha}}})


def test_ha_probing_may_be_disabled():
    config = build(config_overrides={"node": {"routes": {"ha": {"probe_interval": "0"}}}})
    assert config["node"]["routes"]["ha"] == {"probe_interval": "0"}
    assert config["node"]["expiry"] == "0"


def test_tuning_checks_of_headscale():
    refused(
        "config_overrides",
        r"node_store_batch_size must be positive",
        config_overrides={"tuning": {"node_store_batch_size": 0}},
    )
    refused(
        "config_overrides",
        r"node_store_batch_timeout must be positive",
        config_overrides={"tuning": {"node_store_batch_timeout": "0s"}},
    )


# -- the role's secret files match the names the config uses ----------------------------------------------

ROLE = ROLE_DEFAULTS.parents[1]


def test_the_role_writes_the_secrets_where_the_config_expects_them():
    role_vars = yaml.safe_load((ROLE / "vars" / "main.yml").read_text(encoding="utf-8"))
    assert role_vars["__headscale_oidc_secret_file"] == "{{ headscale_config_dir }}/" + hc.OIDC_SECRET_FILE
    # config_dir reaches the builder as the role variable itself (every headscale_* variable does).
    assert "config_dir" not in role_vars["__headscale_computed_settings"]
    secrets = yaml.safe_load((ROLE / "tasks" / "secrets.yml").read_text(encoding="utf-8"))
    env_task = next(task for task in secrets if task["name"] == "Write the PostgreSQL password for the service")
    assert env_task["ansible.builtin.copy"]["content"].startswith(hc.POSTGRES_PASSWORD_ENV + "='")
    assert env_task["ansible.builtin.copy"]["mode"] == "0600" and env_task["no_log"] is True


def test_the_role_computes_only_settings_of_the_table():
    role_vars = yaml.safe_load((ROLE / "vars" / "main.yml").read_text(encoding="utf-8"))
    known = set(hc.DEFAULTS) | set(hc.TEMPLATED_DEFAULTS) | set(hc.INTERNAL_SETTINGS)
    assert set(role_vars["__headscale_computed_settings"]) <= known


def test_every_managed_key_belongs_to_one_setting_and_is_a_key_some_version_reads():
    assert all(name in hc.DEFAULTS or name in hc.TEMPLATED_DEFAULTS for name in hc.MANAGED_KEYS.values())
    every = set().union(*(hk.known_keys(v) for v in VERSIONS))
    assert {key for key in hc.MANAGED_KEYS if key not in every} <= {"ephemeral_node_inactivity_timeout"}


def test_no_role_task_passes_a_password_through_its_environment():
    for path in sorted((ROLE / "tasks").glob("*.yml")):
        for task in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
            assert "PGPASSWORD" not in (task.get("environment") or {}), path.name


# -- the internal-CA certificate's extra names --------------------------------------------------------------


def test_tls_extra_names_are_whole_dns_names_or_addresses():
    names = ["DNS:hs.example.org", "DNS:*.hs.example.org", "IP:192.0.2.10", "IP:2001:db8::10"]
    assert build(tls_extra_names=names)["tls_cert_path"] == TLS["tls_cert_path"]


@pytest.mark.parametrize(
    "entry",
    [
        "DNS:hs.example.org,DNS:evil.example",  # a comma adds a name
        "IP:192.0.2.10\nbasicConstraints=critical,CA:TRUE",  # a line break adds an extension
        "DNS:hs example.org",
        "IP:fe80::1%eth0,DNS:evil.example",  # a scoped IPv6 address smuggling a name
        "email:ops@example.org",
        "DNS:",
        "IP:192.0.2.300",
    ],
)
def test_tls_extra_names_refuse_anything_else(entry):
    refused("tls_extra_names", r"not one DNS:name or IP:address entry", tls_extra_names=[entry])
