# Copyright: wgops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Headscale's config.yaml, built from the role's typed variables and validated before anything is written.

`build_config(settings, host)` takes the role variables without their `headscale_` prefix and returns the
dict the role renders with `to_nice_yaml`, holding only keys the target Headscale version reads (0.26 to
0.29; the upgrade walks through them with the same inputs). Every problem is collected and raised
together in one PlanError, each naming the host and the role variable. The rules and the removed-keys
table are documented in docs/headscale.md; where a rule reproduces Headscale's own check the source is
hscontrol/types/config.go of the version named. The settings, their defaults and the keys built from each
are one table in settings.py; which keys each version reads and the removed ones live in keys.py, the value
parsers in module_utils/_values.py, the problem machinery in module_utils/_problems.py. Pure Python.
"""

from __future__ import annotations

import difflib
import ipaddress
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ansible_collections.wgops.fleet.plugins.module_utils._headscale.keys import RemovedKey, known_keys, removed_keys
from ansible_collections.wgops.fleet.plugins.module_utils._headscale.settings import (
    DEFAULTS,
    INTERNAL_SETTINGS,
    MANAGED_KEYS,
    PREFIX,
    TEMPLATED_DEFAULTS,
)
from ansible_collections.wgops.fleet.plugins.module_utils._problems import PlanError, Problem
from ansible_collections.wgops.fleet.plugins.module_utils._values import (
    go_duration_ns,
    is_dns_name,
    minor_of,
    prometheus_duration_ms,
    real_address_problem,
    split_host_port,
    version_tuple,
)

SUPPORTED_MINORS = (26, 27, 28, 29)

POLICY_FILE = "policy.hujson"
# Secrets stay out of config.yaml (and so out of diffs): the OIDC client secret is read from this file of
# config_dir (oidc.client_secret_path); the PostgreSQL password reaches the server as this environment
# variable (viper's AutomaticEnv; the role's systemd EnvironmentFile), since Headscale reads it from nowhere else.
OIDC_SECRET_FILE = "oidc_client_secret"
POSTGRES_PASSWORD_ENV = "HEADSCALE_DATABASE_POSTGRES_PASS"
# Headscale appends the password unquoted to a libpq key=value string (db.go), and the role writes it
# single-quoted into a systemd EnvironmentFile: white space, quotes and backslashes would change it.
# A DNS name in a certificate (roles/internal_ca/vars/main.yml allows the same): labels of letters, digits,
# '-' and '_', an optional leading '*.'.
_SAN_DNS = re.compile(
    r"(\*\.)?[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*"
)
_POSTGRES_PASSWORD = re.compile(r"[^\s'\\\x00-\x1f\x7f]*")

TLS_MODES = ("internal_ca", "provided", "acme", "proxy", "none")
DATABASE_TYPES = ("sqlite", "postgres")
ALLOCATIONS = ("sequential", "random")
POLICY_MODES = ("file", "database")
LOG_LEVELS = ("trace", "debug", "info", "warn", "error", "fatal", "panic", "disabled")  # zerolog.ParseLevel
LOG_FORMATS = ("text", "json")
CHALLENGE_TYPES = ("HTTP-01", "TLS-ALPN-01")
# database.postgres.ssl: strconv.ParseBool values, else passed through as libpq's sslmode.
POSTGRES_SSL = ("true", "false", "1", "0", "t", "f", "TRUE", "FALSE", "True", "False", "T", "F")
POSTGRES_SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")

CGNAT = ipaddress.ip_network("100.64.0.0/10")  # tsaddr.CGNATRange
TAILSCALE_ULA = ipaddress.ip_network("fd7a:115c:a1e0::/48")  # tsaddr.TailscaleULARange
_SERVICE_PORT = re.compile(r"^[a-z][a-z0-9-]*$")  # a named port (net.LookupPort)
MIN_INACTIVITY_TIMEOUT_NS = 65 * 10**9  # config.go: the 60 s keepalive plus a few seconds, exclusive


class HeadscaleConfigError(PlanError):
    """The Headscale settings cannot be turned into a config; `problems` lists every reason found."""

    def __init__(self, problems: Sequence[Problem], subject: str = "the Headscale settings") -> None:
        super().__init__(problems, subject)


# -- the builder ------------------------------------------------------------------------------------


class _Builder:
    def __init__(self, settings: Mapping[str, Any], host: str) -> None:
        self.host = host
        self.problems: list[Problem] = []
        self.raw = dict(settings)
        self.s = dict(DEFAULTS)
        self.s.update({k: v for k, v in settings.items() if v is not None})
        self.s.setdefault("server_url", f"https://{host}")
        self.s.setdefault("sqlite_path", f"{str(self.s['data_dir']).rstrip('/')}/db.sqlite")
        self.minor = 29

    def add(self, key: str, message: str) -> None:
        """A problem naming the role variable; a value read in several places is reported once."""
        problem = Problem(self.host, PREFIX + key, message)
        if problem not in self.problems:
            self.problems.append(problem)

    def text(self, key: str, *, empty: bool = True, secret: bool = False) -> str:
        value = self.s[key]
        if type(value).__name__ == "EncryptedString":  # a vaulted value not templated yet (ansible-core 2.19)
            value = str(value)
        if isinstance(value, str) and (empty or value.strip()):
            return value
        expected = "a string" if empty else "a non-empty string"
        if secret:  # never echo a secret, not even a mistyped one
            self.add(key, f"expected {expected}, got {_kind(value)}; quote it in YAML")
        else:
            self.add(key, f"expected {expected}, got {value!r}")
        return ""

    def boolean(self, key: str) -> bool:
        value = self.s[key]
        if isinstance(value, bool):
            return value
        self.add(key, f"expected true or false, got {value!r}")
        return False

    def integer(self, key: str, low: int, high: int) -> int:
        value = self.s[key]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.add(key, f"expected a whole number from {low} to {high}, got {value!r}")
            return low
        return value

    def choice(self, key: str, choices: Sequence[str]) -> str:
        value = self.s[key]
        if value not in choices:
            self.add(key, f"{value!r} is not one of {', '.join(choices)}; use one of those")
            return choices[0]
        return value

    def strings(self, key: str) -> list[str]:
        value = self.s[key]
        if isinstance(value, str) or not isinstance(value, Sequence) or not all(isinstance(v, str) for v in value):
            self.add(key, f"expected a list of strings, got {value!r}")
            return []
        return list(value)

    def absolute_path(self, key: str) -> str:
        value = self.text(key)
        if not value.startswith("/"):
            self.add(key, f"{value!r} is not an absolute path; give the full path, starting with /")
        return value

    def go_duration(self, key: str) -> int | None:
        value = self.s[key]
        try:
            return go_duration_ns(value)
        except ValueError as exc:
            self.add(key, str(exc))
            return None

    def listen(self, key: str, *, empty: bool = False, named_port: bool = False) -> str:
        value = self.text(key)
        if not value and empty:
            return value
        try:
            host, port = split_host_port(value)
        except ValueError as exc:
            self.add(key, f"{exc}; for example 0.0.0.0:443, 127.0.0.1:9090 or [::]:443")
            return value
        port_ok = (port.isdigit() and int(port) <= 65535) or (named_port and bool(_SERVICE_PORT.match(port)))
        if not port_ok:
            self.add(key, f"{value!r} has no valid port (0-65535{' or a service name like http' * named_port})")
        if host and not (_is_ip(host) or is_dns_name(host)):
            self.add(key, f"{value!r}: {host!r} is neither an IP address nor a host name")
        return value

    # -- sections ---------------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        self.check_setting_names()
        self.minor = self.version()
        config: dict[str, Any] = {}
        config.update(self.server())
        config.update(self.prefixes())
        config.update(self.node())
        config["derp"] = self.derp()
        config["database"] = self.database()
        config.update(self.tls())
        config["log"] = {
            "level": self.choice("log_level", LOG_LEVELS),
            "format": self.choice("log_format", LOG_FORMATS),
        }
        config["policy"] = self.policy()
        config["dns"] = self.dns(config["server_url"])
        config = _merge(config, self.overrides())
        self.check_merged(config)
        self.oidc_secret_to_file(config)
        if self.problems:
            raise HeadscaleConfigError(self.problems, f"the Headscale settings of host {self.host}")
        return config

    def check_setting_names(self) -> None:
        known = set(DEFAULTS) | set(TEMPLATED_DEFAULTS) | set(INTERNAL_SETTINGS)
        for key in self.raw:
            if key not in known:
                close = difflib.get_close_matches(str(key), sorted(known), n=1)
                hint = f"did you mean {PREFIX}{close[0]}?" if close else "remove it"
                self.add(str(key), f"not a variable of the headscale role; {hint}")

    def version(self) -> int:
        value = str(self.s["version"])
        try:
            minor = minor_of(value)
            if version_tuple(value)[0] != 0 or minor not in SUPPORTED_MINORS:
                raise ValueError
        except ValueError:
            supported = ", ".join(f"0.{m}" for m in SUPPORTED_MINORS)
            self.add("version", f"{value!r} is not a supported Headscale version ({supported}); pick one of those")
            return SUPPORTED_MINORS[-1]
        return minor

    def server(self) -> dict[str, Any]:
        url = self.server_url()
        result: dict[str, Any] = {
            "server_url": url,
            "listen_addr": self.listen("listen_addr"),
            "metrics_listen_addr": self.listen("metrics_listen_addr", empty=True),
            "grpc_listen_addr": self.listen("grpc_listen_addr"),
            "grpc_allow_insecure": self.boolean("grpc_allow_insecure"),
            "noise": {"private_key_path": f"{self.data_dir()}/noise_private.key"},
            "disable_check_updates": self.boolean("disable_check_updates"),
            "unix_socket": self.absolute_path("unix_socket"),
            "unix_socket_permission": "0770",
        }
        if self.s["metrics_listen_addr"] == "" and self.minor < 28:
            self.add(
                "metrics_listen_addr", "an empty address disables metrics only from Headscale 0.28; set 127.0.0.1:9090"
            )
        if result["grpc_allow_insecure"] and not _loopback_listen(result["grpc_listen_addr"]):
            self.add(
                "grpc_allow_insecure",
                f"gRPC without TLS on {result['grpc_listen_addr']!r} sends API keys in the clear; "
                "set it to false or listen on 127.0.0.1",
            )
        proxies = self.trusted_proxies()
        if self.minor >= 29:
            result["trusted_proxies"] = proxies
        self.config_dir()
        return result

    def data_dir(self) -> str:
        return self.absolute_path("data_dir").rstrip("/")

    def config_dir(self) -> str:
        return self.absolute_path("config_dir").rstrip("/")

    def server_url(self) -> str:
        url = self.text("server_url")
        if not (url.startswith("http://") or url.startswith("https://")):
            self.add("server_url", f"{url!r} must start with https:// or http://; for example https://hs.example.com")
            return url
        problem = _url_shape_problem(url)
        if problem:
            self.add("server_url", f"{url!r} {problem}")
        return url

    def trusted_proxies(self) -> list[str]:
        result = []
        for entry in self.strings("trusted_proxies"):
            try:
                network = ipaddress.ip_network(entry, strict=False)
            except ValueError:
                self.add("trusted_proxies", f"{entry!r} is not a CIDR; write it like 10.0.0.5/32 or 10.0.0.0/24")
                continue
            if "/" not in entry:
                self.add("trusted_proxies", f"{entry!r} has no prefix length; write it as {entry}/{network.prefixlen}")
            elif network.prefixlen == 0:
                # errTrustedProxyZeroRange
                self.add("trusted_proxies", f"{entry}: 0.0.0.0/0 and ::/0 are not allowed; list the proxies' addresses")
            result.append(entry)
        return result

    def prefixes(self) -> dict[str, Any]:
        result = {}
        for key, family, allowed in (("prefixes_v4", 4, CGNAT), ("prefixes_v6", 6, TAILSCALE_ULA)):
            value = self.text(key)
            result[key[-2:]] = value
            if not value:
                continue
            try:
                network = ipaddress.ip_network(value)
            except ValueError:
                self.add(key, f"{value!r} is not a valid IPv{family} CIDR with the host bits zero; e.g. {allowed}")
                continue
            if network.version != family or not network.subnet_of(allowed):  # type: ignore[arg-type]  # same family
                self.add(
                    key,
                    f"{value} is outside {allowed}, the only range Tailscale clients support; use {allowed} "
                    "or a part of it",
                )
        if not result["v4"] and not result["v6"]:
            self.add("prefixes_v4", "no IPv4 or IPv6 prefix is set; at least one is required (e.g. 100.64.0.0/10)")
        result["allocation"] = self.choice("prefixes_allocation", ALLOCATIONS)
        return {"prefixes": result}

    def node(self) -> dict[str, Any]:
        timeout = self.s["ephemeral_inactivity_timeout"]
        nanoseconds = self.go_duration("ephemeral_inactivity_timeout")
        if nanoseconds is not None and nanoseconds <= MIN_INACTIVITY_TIMEOUT_NS:
            self.add("ephemeral_inactivity_timeout", f"{timeout} is too low, it must be more than 65s; e.g. 30m")
        expiry = self.s["node_expiry"]
        if expiry == 0 and not isinstance(expiry, bool):
            expiry = "0"
        try:
            prometheus_duration_ms(expiry)
        except ValueError as exc:
            self.add("node_expiry", str(exc))
        if self.minor < 29:
            # node.expiry does not exist before 0.29: nodes then get no server-side default expiry.
            return {"ephemeral_node_inactivity_timeout": timeout}
        return {"node": {"expiry": expiry, "ephemeral": {"inactivity_timeout": timeout}}}

    def derp(self) -> dict[str, Any]:
        urls = self.strings("derp_urls")
        for url in urls:
            if not re.match(r"^https?://[^/\s]+", url) or any(c.isspace() for c in url):
                self.add(
                    "derp_urls",
                    f"{url!r} is not an http(s) URL; e.g. https://controlplane.tailscale.com/derpmap/default",
                )
        paths = self.strings("derp_paths")
        for path in paths:
            if not path.startswith("/"):
                self.add("derp_paths", f"{path!r} is not an absolute path; give the full path of the DERP map file")
        auto_update = self.boolean("derp_auto_update_enabled")
        frequency = self.go_duration("derp_update_frequency")
        if auto_update and frequency is not None and frequency <= 0:
            self.add(
                "derp_update_frequency",
                "must be more than 0 while derp_auto_update_enabled is true (0 silently stops the updates); e.g. 3h",
            )
        server = self.derp_server()
        if not urls and not paths and not server["enabled"]:
            self.add(
                "derp_urls",
                "no DERP relays: derp_urls and derp_paths are empty and the embedded server is off; "
                "Headscale refuses to start without one",
            )
        return {
            "server": server,
            "urls": urls,
            "paths": paths,
            "auto_update_enabled": auto_update,
            "update_frequency": self.s["derp_update_frequency"],
        }

    def derp_server(self) -> dict[str, Any]:
        enabled = self.boolean("derp_server_enabled")
        server: dict[str, Any] = {
            "enabled": enabled,
            "region_id": self.integer("derp_server_region_id", 900, 999),
            "region_code": self.text("derp_server_region_code", empty=False),
            "region_name": self.text("derp_server_region_name", empty=False),
            "stun_listen_addr": self.listen("derp_server_stun_listen_addr"),
            "private_key_path": f"{self.data_dir()}/derp_server_private.key",
            "automatically_add_embedded_derp_region": True,
        }
        verify = self.boolean("derp_server_verify_clients")
        if self.minor >= 27:
            server["verify_clients"] = verify
        ipv4, ipv6 = self.s["derp_server_ipv4"], self.s["derp_server_ipv6"]
        if enabled:
            problem = real_address_problem(ipv4, 4) if ipv4 else "is empty"
            if problem:
                self.add(
                    "derp_server_ipv4",
                    f"{problem}; the embedded DERP server is enabled and clients are sent this address: "
                    "give the server's public IPv4 address",
                )
            problem6 = real_address_problem(ipv6, 6) if ipv6 else None
            if problem6:
                self.add("derp_server_ipv6", f"{problem6}; give the server's public IPv6 address or leave it empty")
            if self.s["tls_mode"] == "none":
                self.add(
                    "derp_server_enabled",
                    "clients reach DERP relays only over TLS and tls_mode is none; use another tls_mode or disable it",
                )
        for key, value in (("ipv4", ipv4), ("ipv6", ipv6)):
            if value:
                server[key] = value
        return server

    def database(self) -> dict[str, Any]:
        kind = self.choice("database_type", DATABASE_TYPES)
        if kind == "sqlite":
            return {
                "type": "sqlite",
                "sqlite": {
                    "path": self.absolute_path("sqlite_path"),
                    "write_ahead_log": self.boolean("sqlite_write_ahead_log"),
                },
            }
        for key in ("postgres_host", "postgres_name", "postgres_user"):
            value = self.text(key, empty=False)
            if any(c.isspace() for c in value):
                self.add(key, f"{value!r} contains white space; Headscale builds a key=value connection string")
        password = self.text("postgres_password", secret=True)
        if not _POSTGRES_PASSWORD.fullmatch(password):
            self.add(
                "postgres_password",
                "contains white space, a quote ('), a backslash or a control character, which Headscale's unquoted "
                "libpq connection string would change; choose a password without them",
            )
        ssl = self.s["postgres_ssl"]
        if isinstance(ssl, bool):
            ssl = "true" if ssl else "false"
        if ssl not in POSTGRES_SSL + POSTGRES_SSLMODES:
            self.add("postgres_ssl", f"{ssl!r} is not true, false or a libpq sslmode ({', '.join(POSTGRES_SSLMODES)})")
        return {
            "type": "postgres",
            "postgres": {
                "host": self.s["postgres_host"],
                "port": self.integer("postgres_port", 1, 65535),
                "name": self.s["postgres_name"],
                "user": self.s["postgres_user"],
                "ssl": ssl,  # no "pass": the service gets it as POSTGRES_PASSWORD_ENV
            },
        }

    def tls(self) -> dict[str, Any]:
        mode = self.choice("tls_mode", TLS_MODES)
        cert, key = self.text("tls_cert_path"), self.text("tls_key_path")
        hostname = self.text("tls_letsencrypt_hostname")
        challenge = self.choice("tls_letsencrypt_challenge_type", CHALLENGE_TYPES)
        url = self.s["server_url"] if isinstance(self.s["server_url"], str) else ""
        https = url.startswith("https://")
        if mode in ("internal_ca", "provided"):
            for name, value in (("tls_cert_path", cert), ("tls_key_path", key)):
                if not value:
                    where = "the role sets it to the internal CA's files" if mode == "internal_ca" else "set it"
                    self.add(name, f"tls_mode {mode} needs the certificate and key paths on the host; {where}")
                elif not value.startswith("/"):
                    self.add(name, f"{value!r} is not an absolute path; give the full path, starting with /")
        elif cert or key:
            name = "tls_cert_path" if cert else "tls_key_path"
            if mode == "acme":
                message = "set either tls_letsencrypt_hostname or tls_cert_path/tls_key_path, not both; empty this"
            else:
                message = f"Headscale serves no TLS with tls_mode {mode}; empty tls_cert_path and tls_key_path"
            self.add(name, message)
        if mode == "acme":
            if not is_dns_name(hostname):
                self.add(
                    "tls_letsencrypt_hostname",
                    f"tls_mode acme needs the DNS name to get a certificate for, got {hostname!r}",
                )
            elif https and _go_url(url)[1] != hostname:
                self.add(
                    "tls_letsencrypt_hostname",
                    f"{hostname!r} is not the host of server_url {url!r}; the certificate must name the host clients use",
                )
            self.check_acme_contact()
        elif hostname:
            self.add("tls_letsencrypt_hostname", f"only used with tls_mode acme (tls_mode is {mode}); empty it")
        if not url.startswith(("http://", "https://")):
            pass  # server_url() reported it
        elif mode in ("internal_ca", "provided", "acme", "proxy") and not https:
            hint = "the reverse proxy serves TLS" if mode == "proxy" else "Headscale serves TLS"
            alternative = "; for plain HTTP use tls_mode none" if mode == "proxy" else ""
            self.add("server_url", f"{url!r} is not https:// but {hint} (tls_mode {mode}){alternative}")
        if mode == "none" and https:
            self.add(
                "server_url",
                f"{url!r} is https:// but nothing serves TLS (tls_mode none); "
                "use http://, or tls_mode proxy when a reverse proxy terminates TLS",
            )
        if mode == "proxy":
            self.check_proxy_listen()
        self.check_tls_extra_names()
        return {
            "acme_url": self.text("acme_url"),
            "acme_email": self.s["acme_email"],
            "tls_letsencrypt_hostname": hostname,
            "tls_letsencrypt_cache_dir": f"{self.data_dir()}/cache",
            "tls_letsencrypt_challenge_type": challenge,
            "tls_letsencrypt_listen": self.listen("tls_letsencrypt_listen", named_port=True),
            "tls_cert_path": cert,
            "tls_key_path": key,
        }

    def check_tls_extra_names(self) -> None:
        """Each extra name of the internal-CA certificate is one whole DNS:name or IP:address (a comma or line
        break would add names or extensions to what the CA signs)."""
        for entry in self.strings("tls_extra_names"):
            kind, _sep, value = entry.partition(":")
            if not (
                (kind == "DNS" and _SAN_DNS.fullmatch(value)) or (kind == "IP" and "%" not in value and _is_ip(value))
            ):
                self.add(
                    "tls_extra_names",
                    f"{entry!r} is not one DNS:name or IP:address entry (like DNS:hs.example.org or IP:192.0.2.10)",
                )

    def check_acme_contact(self) -> None:
        url, email = self.s["acme_url"], self.s["acme_email"]
        if not isinstance(url, str) or not url.startswith("https://"):
            self.add("acme_url", f"{url!r} is not an https:// ACME directory URL")
        if not isinstance(email, str) or (email and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email)):
            self.add("acme_email", f"{email!r} is not an e-mail address (it may be empty)")

    def check_proxy_listen(self) -> None:
        """Behind a reverse proxy Headscale speaks plain HTTP: only the proxy may reach it. Either it listens
        on loopback (proxy on the same host), or the proxy is elsewhere and named in trusted_proxies."""
        listen = self.s["listen_addr"]
        if isinstance(listen, str) and not _loopback_listen(listen) and not self.s["trusted_proxies"]:
            self.add(
                "listen_addr",
                f"tls_mode proxy serves plain HTTP on {listen!r}, reachable without the proxy; listen on "
                "127.0.0.1:PORT (proxy on this host) or set headscale_trusted_proxies to the proxy's address",
            )

    def policy(self) -> dict[str, Any]:
        """policy.path: where the role writes the policy file (file mode, a policy set); empty means no policy.
        The role passes policy_path itself; without it the path is CONFIG_DIR/policy.hujson."""
        mode = self.choice("policy_mode", POLICY_MODES)
        try:
            text = policy_text(self.s["policy"])
        except (TypeError, ValueError) as exc:
            self.add("policy", str(exc))
            text = None
        if "policy_path" in self.s:
            path = self.text("policy_path")
            if path and not path.startswith("/"):
                self.add("policy", f"the policy file path {path!r} is not absolute (the role's policy_path)")
        else:
            generated = bool(self.s.get("policy_acls"))  # headscale_policy_acls: headscale_policy.policy_from_groups
            path = f"{self.config_dir()}/{POLICY_FILE}" if text is not None or generated else ""
        return {"mode": mode, "path": path if mode == "file" else ""}

    def dns(self, server_url: str) -> dict[str, Any]:
        magic = self.boolean("dns_magic_dns")
        base = self.text("dns_base_domain")
        override = self.boolean("dns_override_local_dns")
        if base and not is_dns_name(base):
            self.add("dns_base_domain", f"{base!r} is not a DNS name; e.g. tailnet.internal")
        elif base and server_url.startswith(("http://", "https://")):
            error = _server_url_problem(server_url, base)
            if error:
                self.add("dns_base_domain", error)
        if magic and not base:
            self.add(
                "dns_base_domain", "dns.base_domain must be set when using MagicDNS; set it or dns_magic_dns: false"
            )
        nameservers = self.strings("dns_nameservers_global")
        for entry in nameservers:
            self.check_nameserver("dns_nameservers_global", entry)
        if override and not nameservers:
            self.add(
                "dns_nameservers_global",
                "dns.nameservers.global must be set when dns.override_local_dns is true; list resolvers or "
                "set dns_override_local_dns: false",
            )
        search = self.strings("dns_search_domains")
        for domain in search:
            if not is_dns_name(domain):
                self.add("dns_search_domains", f"{domain!r} is not a DNS name")
        result: dict[str, Any] = {
            "magic_dns": magic,
            "base_domain": base,
            "override_local_dns": override,
            "nameservers": {"global": nameservers, "split": self.split_dns()},
            "search_domains": search,
        }
        records = self.extra_records()
        if records:
            # Only when set: Headscale refuses dns.extra_records next to dns.extra_records_path, even empty.
            result["extra_records"] = records
        return result

    def check_nameserver(self, key: str, entry: Any) -> None:
        if _is_ip(entry) or (isinstance(entry, str) and re.match(r"^https://[^/\s]+/?\S*$", entry)):
            return
        self.add(key, f"{entry!r} is neither an IP address nor an https:// (DNS over HTTPS) URL")

    def split_dns(self) -> dict[str, list[str]]:
        value = self.s["dns_nameservers_split"]
        if not isinstance(value, Mapping):
            self.add("dns_nameservers_split", f"expected a mapping of domain to nameserver list, got {value!r}")
            return {}
        result = {}
        for domain, servers in value.items():
            if not is_dns_name(domain):
                self.add("dns_nameservers_split", f"{domain!r} is not a DNS name")
            if isinstance(servers, str) or not isinstance(servers, Sequence) or not servers:
                self.add(
                    "dns_nameservers_split", f"{domain}: expected a non-empty list of nameservers, got {servers!r}"
                )
                continue
            for entry in servers:
                self.check_nameserver("dns_nameservers_split", entry)
            result[str(domain)] = list(servers)
        return result

    def extra_records(self) -> list[dict[str, str]]:
        value = self.s["dns_extra_records"]
        if isinstance(value, str) or not isinstance(value, Sequence):
            self.add("dns_extra_records", f"expected a list of {{name, type, value}}, got {value!r}")
            return []
        records = []
        for index, record in enumerate(value):
            where = f"entry {index + 1}"
            if not isinstance(record, Mapping) or set(record) != {"name", "type", "value"}:
                self.add("dns_extra_records", f"{where}: expected exactly {{name, type, value}}, got {record!r}")
                continue
            name, kind, address = record["name"], record["type"], record["value"]
            if not is_dns_name(name):
                self.add("dns_extra_records", f"{where}: name {name!r} is not a DNS name")
            family = {"A": 4, "AAAA": 6}.get(kind)
            if family is None:
                self.add("dns_extra_records", f"{where}: type {kind!r} is not A or AAAA")
            elif not _is_ip(address, family):
                self.add("dns_extra_records", f"{where}: value {address!r} is not an IPv{family} address (type {kind})")
            records.append({"name": name, "type": kind, "value": address})
        return records

    # -- raw overrides ----------------------------------------------------------------------------

    def overrides(self) -> dict[str, Any]:
        value = self.s["config_overrides"]
        if not isinstance(value, Mapping):
            self.add("config_overrides", f"expected a mapping of Headscale config keys, got {_kind(value)}")
            return {}
        version = f"0.{self.minor}"
        self.walk_overrides(value, "", known_keys(version), removed_keys(version))
        return dict(value)

    def walk_overrides(
        self, value: Mapping[str, Any], prefix: str, known: frozenset[str], removed: Mapping[str, RemovedKey]
    ) -> None:
        for key, child in value.items():
            path = f"{prefix}{key}"
            if not isinstance(key, str) or "." in key or key != key.lower():
                self.add("config_overrides", f"{path!r}: write keys lowercase and nested ({{dns: {{magic_dns: ...}}}})")
            elif path in removed and isinstance(child, Mapping) and child and _is_parent(path, removed):
                self.walk_overrides(child, path + ".", known, removed)  # name the renamed children one by one
            elif path in removed or (not _is_parent(path, known) and _removed_parent(path, removed)):
                entry = removed.get(path) or _removed_parent(path, removed)
                if entry is not None:  # one of the two matched to get here
                    self.add("config_overrides", _removed_message(path, entry))
            elif path in known:
                if path in MANAGED_KEYS:
                    variable = PREFIX + MANAGED_KEYS[path]
                    self.add("config_overrides", f"{path} is built from {variable}; set {variable} instead")
            elif _is_parent(path, known) or _is_parent(path, removed):
                if isinstance(child, Mapping):
                    self.walk_overrides(child, path + ".", known, removed)
                else:
                    self.add("config_overrides", f"{path} is a section; give it a mapping, got {_kind(child)}")
            else:
                self.add("config_overrides", self.unknown_key_message(path, known))

    def unknown_key_message(self, path: str, known: frozenset[str]) -> str:
        newer = [m for m in SUPPORTED_MINORS if m > self.minor and _is_key_or_parent(path, known_keys(f"0.{m}"))]
        if newer:
            return f"{path} is new in Headscale 0.{newer[0]} (the version is 0.{self.minor}); set it after upgrading"
        candidates = sorted(known | {p for k in known for p in _parents(k)})
        close = difflib.get_close_matches(path, candidates, n=1)
        hint = f"did you mean {close[0]}?" if close else "check config-example.yaml of the version"
        return f"{path} is not a key Headscale 0.{self.minor} reads; {hint}"

    def check_merged(self, config: Mapping[str, Any]) -> None:
        """Headscale's own fatal checks that overridable keys can trip (config.go validateServerConfig)."""
        dns, oidc = config.get("dns") or {}, config.get("oidc") or {}
        if "extra_records" in dns and "extra_records_path" in dns:
            self.add(
                "config_overrides",
                "dns.extra_records_path and headscale_dns_extra_records are mutually exclusive; keep one of them",
            )
        if isinstance(oidc, Mapping):
            if oidc.get("client_secret") and oidc.get("client_secret_path"):
                self.add("config_overrides", "oidc.client_secret and oidc.client_secret_path are mutually exclusive")
            method = (oidc.get("pkce") or {}).get("method") if isinstance(oidc.get("pkce"), Mapping) else None
            if method is not None and method not in ("plain", "S256"):
                self.add("config_overrides", "oidc.pkce.method must be either 'plain' or 'S256'")
        server = (config.get("derp") or {}).get("server") or {}
        manual_region = server.get("automatically_add_embedded_derp_region") is False
        if server.get("enabled") and manual_region and not (config.get("derp") or {}).get("paths"):
            self.add(
                "config_overrides",
                "derp.server.automatically_add_embedded_derp_region false needs the embedded server in a "
                "file of headscale_derp_paths",
            )
        self.check_ha_probes(config)
        tuning = config.get("tuning") or {}
        if isinstance(tuning, Mapping):
            for key in ("node_store_batch_size",):
                if key in tuning and (not isinstance(tuning[key], int) or tuning[key] <= 0):
                    self.add("config_overrides", f"tuning.{key} must be positive, got {tuning[key]!r}")
            if "node_store_batch_timeout" in tuning:
                self.check_duration("tuning.node_store_batch_timeout", tuning["node_store_batch_timeout"], 1)

    def oidc_secret_to_file(self, config: dict[str, Any]) -> None:
        """oidc.client_secret is written to its own file by the role; the config names that file instead."""
        oidc = config.get("oidc")
        if not isinstance(oidc, Mapping) or "client_secret" not in oidc:
            return
        oidc = config["oidc"] = dict(oidc)
        secret = oidc.pop("client_secret")
        if type(secret).__name__ == "EncryptedString":
            secret = str(secret)
        if not isinstance(secret, str):
            self.add(
                "config_overrides", f"oidc.client_secret: expected a string, got {_kind(secret)}; quote it in YAML"
            )
        elif secret and "client_secret_path" not in oidc:
            oidc["client_secret_path"] = f"{self.config_dir()}/{OIDC_SECRET_FILE}"

    def check_ha_probes(self, config: Mapping[str, Any]) -> None:
        ha = ((config.get("node") or {}).get("routes") or {}).get("ha") or {}
        if not isinstance(ha, Mapping) or not ha:
            return
        interval = self.check_duration("node.routes.ha.probe_interval", ha.get("probe_interval", "10s"), None)
        timeout = self.check_duration("node.routes.ha.probe_timeout", ha.get("probe_timeout", "5s"), None)
        if interval is None or timeout is None or interval <= 0:
            return
        second = 10**9
        if interval < 2 * second:
            self.add("config_overrides", "node.routes.ha.probe_interval must be >= 2s (or 0 to disable probing)")
        if timeout < second:
            self.add("config_overrides", "node.routes.ha.probe_timeout must be >= 1s")
        if timeout >= interval:
            self.add("config_overrides", "node.routes.ha.probe_timeout must be less than node.routes.ha.probe_interval")

    def check_duration(self, path: str, value: Any, minimum: int | None) -> int | None:
        try:
            nanoseconds = go_duration_ns(value)
        except ValueError as exc:
            self.add("config_overrides", f"{path}: {exc}")
            return None
        if minimum is not None and nanoseconds < minimum:
            self.add("config_overrides", f"{path} must be positive, got {value!r}")
        return nanoseconds


def _merge(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    result = dict(base)
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(result.get(key), Mapping):
            result[key] = _merge(result[key], value)
        else:
            result[key] = value
    return result


def _parents(key: str) -> list[str]:
    parts = key.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def _is_parent(path: str, keys: Any) -> bool:
    return any(key.startswith(path + ".") for key in keys)


def _is_key_or_parent(path: str, keys: frozenset[str]) -> bool:
    return path in keys or _is_parent(path, keys)


def _removed_parent(path: str, removed: Mapping[str, RemovedKey]) -> RemovedKey | None:
    for parent in reversed(_parents(path)):
        if parent in removed:
            return removed[parent]
    return None


def _removed_message(path: str, entry: RemovedKey) -> str:
    if entry.key != path:
        change = f"was replaced by {entry.renamed_to}" if entry.renamed_to else "was removed"
        what = f"{path}: {entry.key} {change} in Headscale {entry.version}"
    elif entry.renamed_to:
        what = f"{path} was renamed to {entry.renamed_to} in Headscale {entry.version}"
    else:
        what = f"{path} was removed in Headscale {entry.version}"
    return f"{what}; {entry.hint}"


def _kind(value: Any) -> str:
    """What a value is, without showing it (for secrets)."""
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, Sequence) and not isinstance(value, str):
        return "a list"
    return "null" if value is None else "a value that is not text"


def _is_ip(value: Any, family: int | None = None) -> bool:
    try:
        address = ipaddress.ip_address(value) if isinstance(value, str) else None
    except ValueError:
        return False
    return address is not None and (family is None or address.version == family)


def _loopback_listen(address: str) -> bool:
    try:
        host = split_host_port(address)[0]
    except ValueError:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _go_url(url: str) -> tuple[str, str]:
    """(url.Host, url.Hostname()) as Go's net/url computes them for an http(s) URL: Host keeps the port,
    Hostname drops a valid port (":" and digits) and IPv6 brackets. Neither is lowercased."""
    rest = url.split("://", 1)[1] if "://" in url else url
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    host = authority.rpartition("@")[2]
    hostname = host
    colon = host.rfind(":")
    if colon != -1 and re.fullmatch(r":\d*", host[colon:]):
        hostname = host[:colon]
    if hostname.startswith("[") and hostname.endswith("]"):
        hostname = hostname[1:-1]
    return host, hostname


def _url_shape_problem(url: str) -> str | None:
    """What makes an http(s) URL unfit for server_url: clients need scheme://host[:port] and nothing more."""
    host, hostname = _go_url(url)
    after_scheme = url.split("://", 1)[1]
    authority = re.fullmatch(r"(\[[0-9A-Fa-f:.]+\]|[^:@\[\]\s]+)(?::(.*))?", host)
    if not hostname or not authority or "@" in after_scheme.split("/")[0] or any(c.isspace() for c in url):
        return "has no usable host name; for example https://hs.example.com"
    port = authority.group(2)
    if port is not None and not (port.isdigit() and 0 < int(port) <= 65535):
        return "has an invalid port; for example https://hs.example.com:8443"
    path = after_scheme[len(host) :]
    if path not in ("", "/"):
        return f"has a path; Headscale is served at the root of its host, drop {path!r}"
    return None


def _server_url_problem(server_url: str, base_domain: str) -> str | None:
    """isSafeServerURL of config.go, the same on 0.26 to 0.29: the same host, or a server_url host ending
    with all of base_domain's labels (compared on url.Host, port included), is refused."""
    host, hostname = _go_url(server_url)
    if hostname == base_domain:
        return (
            f"server_url {server_url!r} uses the base domain {base_domain!r} itself: server_url cannot use the same "
            "domain as base_domain in a way that could make the DERP and headscale server unreachable; "
            "pick a base_domain that is not server_url's host or one of its parent domains"
        )
    server_parts, base_parts = host.split("."), base_domain.split(".")
    if len(server_parts) <= len(base_parts):
        return None
    if all(server_parts[-i - 1] == base_parts[-i - 1] for i in range(len(base_parts))):
        return (
            f"server_url {server_url!r} is inside the base domain {base_domain!r}: server_url cannot be part of "
            "base_domain in a way that could make the DERP and headscale server unreachable; "
            "pick a base_domain that is not server_url's host or one of its parent domains"
        )
    return None


def policy_text(policy: Any) -> str | None:
    """The policy file's text: a dict as indented JSON, a (HuJSON) string unchanged, None when empty."""
    if policy is None or policy == {} or (isinstance(policy, str) and not policy.strip()):
        return None
    if isinstance(policy, str):
        return policy
    if isinstance(policy, Mapping):
        try:
            return json.dumps(policy, indent=2, ensure_ascii=False) + "\n"
        except (TypeError, ValueError) as exc:
            raise ValueError(f"the policy cannot be written as JSON: {exc}") from None
    raise TypeError(f"expected a policy dict or a HuJSON string, got {type(policy).__name__}")


def build_config(settings: Mapping[str, Any], host: str) -> dict[str, Any]:
    """The config.yaml of Headscale settings['version'] for `host`; HeadscaleConfigError (a PlanError)
    lists every problem. `settings` holds the role variables without the headscale_ prefix; missing ones
    take the role's defaults."""
    return _Builder(settings, host).run()
