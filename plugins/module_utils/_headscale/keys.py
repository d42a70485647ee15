# Copyright: wgops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which config keys each Headscale version (0.26 to 0.29) reads, and the keys removed or renamed on the
way, with what replaces them. The config builder (headscale_config) checks overrides against these; the
integration test reads the removed keys against each real binary. Pure Python.
"""

from __future__ import annotations

from dataclasses import dataclass

from ansible_collections.wgops.fleet.plugins.module_utils._values import minor_of, version_tuple

# Leaf keys read through viper (hscontrol and cmd: every viper.Get*/IsSet/SetDefault), per minor. A leaf
# may hold a mapping (dns.nameservers.split, oidc.extra_params): overrides are not checked below leaves.


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_KEYS_026 = _words(
    """
    server_url listen_addr metrics_listen_addr grpc_listen_addr grpc_allow_insecure disable_check_updates
    noise.private_key_path prefixes.v4 prefixes.v6 prefixes.allocation
    derp.server.enabled derp.server.region_id derp.server.region_code derp.server.region_name
    derp.server.private_key_path derp.server.stun_listen_addr derp.server.stun.enabled
    derp.server.automatically_add_embedded_derp_region derp.server.ipv4 derp.server.ipv6
    derp.urls derp.paths derp.auto_update_enabled derp.update_frequency
    database.type database.debug database.gorm.prepare_stmt database.gorm.parameterized_queries
    database.gorm.skip_err_record_not_found database.gorm.slow_threshold
    database.sqlite.path database.sqlite.write_ahead_log database.sqlite.wal_autocheckpoint
    database.postgres.host database.postgres.port database.postgres.name database.postgres.user
    database.postgres.pass database.postgres.ssl database.postgres.max_open_conns
    database.postgres.max_idle_conns database.postgres.conn_max_idle_time_secs
    acme_url acme_email tls_letsencrypt_hostname tls_letsencrypt_cache_dir tls_letsencrypt_challenge_type
    tls_letsencrypt_listen tls_cert_path tls_key_path log.level log.format policy.mode policy.path
    dns.magic_dns dns.base_domain dns.override_local_dns dns.nameservers.global dns.nameservers.split
    dns.search_domains dns.extra_records dns.extra_records_path unix_socket unix_socket_permission
    oidc.enabled oidc.only_start_if_oidc_is_available oidc.issuer oidc.client_id oidc.client_secret
    oidc.client_secret_path oidc.scope oidc.extra_params oidc.allowed_domains oidc.allowed_users
    oidc.allowed_groups oidc.use_expiry_from_token oidc.pkce.enabled oidc.pkce.method oidc.expiry
    logtail.enabled randomize_client_port ephemeral_node_inactivity_timeout
    cli.address cli.api_key cli.timeout cli.insecure
    tuning.notifier_send_timeout tuning.batch_change_delay tuning.node_mapsession_buffered_chan_size
    """
)
_KEYS_ADDED = {
    27: {"derp.server.verify_clients", "tuning.batcher_workers", "tuning.register_cache_cleanup"}
    | {"tuning.register_cache_expiration"},
    28: {"oidc.email_verified_required", "taildrop.enabled", "tuning.node_store_batch_size"}
    | {"tuning.node_store_batch_timeout"},
    29: {"auto_update.enabled", "trusted_proxies", "node.expiry", "node.ephemeral.inactivity_timeout"}
    | {"node.routes.ha.probe_interval", "node.routes.ha.probe_timeout", "tuning.register_cache_max_entries"},
}
# 0.29 still reads ephemeral_node_inactivity_timeout (with a deprecation warning): REMOVED_KEYS refuses it.
_KEYS_DROPPED = {29: {"oidc.expiry", "randomize_client_port", "tuning.register_cache_cleanup"}}


def known_keys(version: str) -> frozenset[str]:
    """Every leaf key (dotted) Headscale `version` reads from its config file."""
    minor = minor_of(version)
    keys = set(_KEYS_026)
    for step in range(27, minor + 1):
        keys |= _KEYS_ADDED.get(step, set())
        keys -= _KEYS_DROPPED.get(step, set())
    return frozenset(keys)


# -- removed and renamed keys -----------------------------------------------------------------------


@dataclass(frozen=True)
class RemovedKey:
    key: str
    version: str  # the Headscale release that removed or renamed it
    renamed_to: str  # the config key that replaced it ("" when nothing did)
    hint: str  # what to do instead


REMOVED_KEYS: tuple[RemovedKey, ...] = (
    RemovedKey(
        "ip_prefix", "0.17.0", "prefixes.v4 and prefixes.v6", "set headscale_prefixes_v4 / headscale_prefixes_v6"
    ),
    RemovedKey("log_level", "0.17.0", "log.level", "set headscale_log_level"),
    RemovedKey(
        "ip_prefixes", "0.23.0", "prefixes.v4 and prefixes.v6", "set headscale_prefixes_v4 / headscale_prefixes_v6"
    ),
    RemovedKey(
        "private_key_path", "0.23.0", "", "the pre-Noise machine key is gone; noise.private_key_path is the role's"
    ),
    RemovedKey("node_update_check_interval", "0.23.0", "", "nodes are updated as changes happen; drop it"),
    RemovedKey("db_type", "0.23.0", "database.type", "set headscale_database_type"),
    RemovedKey("db_path", "0.23.0", "database.sqlite.path", "set headscale_sqlite_path"),
    RemovedKey("db_host", "0.23.0", "database.postgres.host", "set headscale_postgres_host"),
    RemovedKey("db_port", "0.23.0", "database.postgres.port", "set headscale_postgres_port"),
    RemovedKey("db_name", "0.23.0", "database.postgres.name", "set headscale_postgres_name"),
    RemovedKey("db_user", "0.23.0", "database.postgres.user", "set headscale_postgres_user"),
    RemovedKey("db_pass", "0.23.0", "database.postgres.pass", "set headscale_postgres_password"),
    RemovedKey("db_ssl", "0.23.0", "database.postgres.ssl", "set headscale_postgres_ssl"),
    RemovedKey("acl_policy_path", "0.23.0", "policy.path", "set headscale_policy (the role writes the file)"),
    RemovedKey("dns_config", "0.23.0", "dns", "set the headscale_dns_* variables"),
    RemovedKey("dns_config.magic_dns", "0.23.0", "dns.magic_dns", "set headscale_dns_magic_dns"),
    RemovedKey("dns_config.base_domain", "0.23.0", "dns.base_domain", "set headscale_dns_base_domain"),
    RemovedKey(
        "dns_config.override_local_dns", "0.23.0", "dns.override_local_dns", "set headscale_dns_override_local_dns"
    ),
    RemovedKey("dns_config.nameservers", "0.23.0", "dns.nameservers.global", "set headscale_dns_nameservers_global"),
    RemovedKey(
        "dns_config.restricted_nameservers", "0.23.0", "dns.nameservers.split", "set headscale_dns_nameservers_split"
    ),
    RemovedKey("dns_config.domains", "0.23.0", "dns.search_domains", "set headscale_dns_search_domains"),
    RemovedKey("dns_config.extra_records", "0.23.0", "dns.extra_records", "set headscale_dns_extra_records"),
    RemovedKey(
        "dns_config.use_username_in_magic_dns", "0.24.0", "", "MagicDNS names no longer contain user names; drop it"
    ),
    RemovedKey("dns.use_username_in_magic_dns", "0.24.0", "", "MagicDNS names no longer contain user names; drop it"),
    RemovedKey("oidc.strip_email_domain", "0.26.0", "", "users are matched on the OIDC subject; drop it"),
    RemovedKey("oidc.map_legacy_users", "0.26.0", "", "the legacy user migration is gone; drop it"),
    RemovedKey("oidc.expiry", "0.29.0", "node.expiry", "set headscale_node_expiry (it applies to every node)"),
    RemovedKey(
        "randomize_client_port",
        "0.29.0",
        "",
        'put "randomizeClientPort": true at the top level of headscale_policy, or grant '
        '"https://tailscale.com/cap/randomize-client-port" to some nodes in its "nodeAttrs"',
    ),
    RemovedKey(
        "ephemeral_node_inactivity_timeout",
        "0.29.0",
        "node.ephemeral.inactivity_timeout",
        "set headscale_ephemeral_inactivity_timeout",
    ),
)


def removed_keys(version: str) -> dict[str, RemovedKey]:
    """The keys Headscale `version` no longer reads (removed, or renamed in or before that version)."""
    target = version_tuple(version)
    return {entry.key: entry for entry in REMOVED_KEYS if version_tuple(entry.version) <= target}
