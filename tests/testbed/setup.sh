#!/usr/bin/env bash
# Testbed for wgops.fleet: installs rootful podman and builds the Debian base images the molecule
# scenarios boot (systemd as PID 1). Idempotent and fast when everything is already in place.
#
#   tests/testbed/setup.sh              # packages + both images (bookworm, trixie)
#   tests/testbed/setup.sh trixie       # only the named image(s)
#
# Images:  localhost/wgops-debian:<suite>-<hash>  (hash = build recipe: suite, mirror, packages and
#          the recipe functions below), plus the alias localhost/wgops-debian:<suite> -> current one.
# Cache:   ${XDG_CACHE_HOME:-$HOME/.cache}/wgops/images/wgops-debian-<suite>-<hash>.tar.zst (rootfs
#          tarball; survives `podman system reset`) and .../debs/<suite> (debootstrap's .deb cache).
# Env:     WGOPS_DEBIAN_MIRROR   Debian mirror for bookworm (default: this machine's apt sources)
#          WGOPS_TRIXIE_MIRROR   Debian mirror for trixie (default: same, or deb.debian.org if that
#                                mirror is a snapshot.debian.org archive)
#          WGOPS_IMAGE_REBUILD=1 rebuild even if the image/tarball exists
#          WGOPS_SYSTEM_CONF=1   also install /etc/containers/containers.conf.d/50-wgops-testbed.conf, for
#                                running plain `podman` by hand (the project's scripts pass CONTAINERS_CONF
#                                and never need it; the machine's global config is left alone by default)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export CONTAINERS_CONF="${CONTAINERS_CONF:-$HERE/containers.conf}"
export DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8

IMAGE_REPO=localhost/wgops-debian
SUITES_DEFAULT=(bookworm trixie)
CACHE_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/wgops/images"

# Host packages the testbed needs (rootful podman with netavark networking, image builder).
HOST_PACKAGES=(podman runc conmon netavark aardvark-dns iptables debootstrap debian-archive-keyring
  zstd openssh-client ca-certificates)

# Baked into every image. Deliberately NOT here: wireguard*, nftables, iptables, ufw, firewalld,
# openssh-server (roles and scenarios install those for real). The probes the scenarios verify with
# (ping, nc, dig) are here, so a verification never depends on the mirror answering mid-run.
IMAGE_PACKAGES=(python3 python3-apt systemd systemd-sysv dbus iproute2 iputils-ping procps
  netcat-openbsd bind9-dnsutils ca-certificates gnupg less)

log() { printf '[testbed] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

if [[ $EUID -ne 0 ]]; then
  command -v sudo >/dev/null || die "must run as root (rootful podman, debootstrap)"
  exec sudo --preserve-env=CONTAINERS_CONF,XDG_CACHE_HOME,HOME,WGOPS_DEBIAN_MIRROR,WGOPS_TRIXIE_MIRROR,WGOPS_IMAGE_REBUILD,WGOPS_SYSTEM_CONF "$0" "$@"
fi

# ---------------------------------------------------------------------------------------------
# Host packages
# ---------------------------------------------------------------------------------------------
ensure_host_packages() {
  local missing=() p
  for p in "${HOST_PACKAGES[@]}"; do
    [[ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null)" == "ii "* ]] || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  log "installing host packages: ${missing[*]}"
  # `make unit` may install graphviz at the same time (make graphviz): one apt at a time.
  flock /tmp/wgops-apt.lock sh -c 'apt-get update -qq &&
    apt-get install -y -qq --no-install-recommends "$@" >/dev/null' apt "${missing[@]}"
}

# The same settings for a plain `podman` (no CONTAINERS_CONF), so debugging with podman ps/exec/rm
# uses the same network backend and runtime. With CONTAINERS_CONF set podman reads only that file.
ensure_system_conf() {
  local dropin=/etc/containers/containers.conf.d/50-wgops-testbed.conf
  [[ ${WGOPS_SYSTEM_CONF:-0} == 1 ]] || return 0
  cmp -s "$HERE/containers.conf" "$dropin" && return 0
  log "installing $dropin (same as tests/testbed/containers.conf)"
  mkdir -p "${dropin%/*}"
  install -m 0644 "$HERE/containers.conf" "$dropin"
}

# Every booted container runs systemd, which holds several inotify instances (pid 1, journald, logind,
# udev-less units): the kernel's default of 128 per user (all containers are root here) stops the 26th
# or so container of a fleet at boot (scenario fleet_scale: s25-s32 exited at create). Raised, never
# lowered; runtime only (nothing written under /etc/sysctl.d).
ensure_host_sysctls() {
  local key want have
  for key in fs.inotify.max_user_instances=1024 fs.inotify.max_user_watches=524288; do
    want="${key#*=}" key="${key%%=*}"
    have="$(sysctl -n "$key")"
    ((have >= want)) && continue
    log "raising $key from $have to $want (systemd in many containers)"
    sysctl -qw "$key=$want"
  done
}

# detect_mirror: the Debian archive of this machine's apt sources.
# shellcheck source=tests/testbed/debian-mirror.sh
source "$HERE/debian-mirror.sh"

# Security archive matching a main archive URI (deb.debian.org/debian -> .../debian-security,
# snapshot .../archive/debian/<ts> -> .../archive/debian-security/<ts>).
security_mirror_for() {
  local m=$1
  case "$m" in
    */archive/debian/*) echo "${m/\/archive\/debian\//\/archive\/debian-security\/}" ;;
    */debian) echo "${m}-security" ;;
    *) echo "" ;;
  esac
}

# ---------------------------------------------------------------------------------------------
# Build recipe. Everything from here to "end of recipe" is hashed (declare -f), together with the
# suite, mirror and package list: changing any of it yields a new image tag.
# ---------------------------------------------------------------------------------------------
recipe_sources() { # <rootfs> <suite> <mirror> <security-mirror>
  local root=$1 suite=$2 mirror=$3 sec=$4 extra=""
  [[ $mirror == *snapshot.debian.org* ]] && extra=$'\nCheck-Valid-Until: no'
  rm -f "$root/etc/apt/sources.list"
  {
    printf 'Types: deb\nURIs: %s\nSuites: %s %s-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg%s\n' \
      "$mirror" "$suite" "$suite" "$extra"
    if [[ -n $sec ]]; then
      printf '\nTypes: deb\nURIs: %s\nSuites: %s-security\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg%s\n' \
        "$sec" "$suite" "$extra"
    fi
  } >"$root/etc/apt/sources.list.d/debian.sources"
}

recipe_configure() { # <rootfs>
  local root=$1 u
  # Smaller, faster package installs in the scenarios: no docs/man/locales (copyright files stay).
  cat >"$root/etc/dpkg/dpkg.cfg.d/01-wgops-nodoc" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/lintian/*
EOF
  find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
  rm -rf "$root/usr/share/man/"* "$root/usr/share/info/"* "$root/usr/share/lintian/"*
  find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} + 2>/dev/null || true
  cat >"$root/etc/apt/apt.conf.d/90wgops-testbed" <<'EOF'
Acquire::Languages "none";
Acquire::Retries "3";
APT::Periodic::Enable "0";
EOF
  # Containers have no kernel package. Real Debian hosts get "wireguard-modules" from linux-image-*,
  # so `apt install wireguard-tools` would otherwise drag in a kernel or DKMS as a Recommends. This
  # metadata-only package stands in for the kernel package; WireGuard itself runs as wireguard-go
  # (the VM kernel has no wireguard module, wg-quick falls back by itself).
  local stub
  stub=$(mktemp -d)
  mkdir -p "$stub/DEBIAN"
  cat >"$stub/DEBIAN/control" <<'EOF'
Package: wgops-testbed-kernel
Version: 1.0
Architecture: all
Maintainer: wgops.fleet testbed <noreply@example.invalid>
Provides: wireguard-modules (= 1.0.0)
Priority: optional
Section: kernel
Description: testbed stand-in for a kernel package (provides wireguard-modules)
EOF
  dpkg-deb --root-owner-group -Zgzip --build "$stub" "$root/tmp/wgops-testbed-kernel.deb" >/dev/null
  rm -rf "$stub"
  chroot "$root" dpkg -i /tmp/wgops-testbed-kernel.deb >/dev/null
  rm -f "$root/tmp/wgops-testbed-kernel.deb"
  # Units that have nothing to do (or fail) in a container.
  for u in getty@.service serial-getty@.service console-getty.service getty.target \
    systemd-networkd-wait-online.service systemd-udevd.service systemd-udev-trigger.service \
    systemd-remount-fs.service systemd-firstboot.service systemd-modules-load.service \
    sys-kernel-config.mount sys-kernel-debug.mount sys-kernel-tracing.mount dev-hugepages.mount \
    apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service fstrim.timer; do
    ln -sfn /dev/null "$root/etc/systemd/system/$u"
  done
  # Per-container identity: systemd generates a machine id, podman provides hostname/resolv.conf/hosts.
  : >"$root/etc/machine-id"
  rm -f "$root/var/lib/dbus/machine-id" "$root/etc/hostname"
  : >"$root/etc/resolv.conf"
  printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
  printf 'LANG=C.UTF-8\n' >"$root/etc/default/locale"
}

recipe_build_rootfs() { # <rootfs> <suite> <mirror> <security-mirror> <deb-cache>
  local root=$1 suite=$2 mirror=$3 sec=$4 debs=$5 pkgs
  pkgs=$(IFS=,; echo "${IMAGE_PACKAGES[*]}")
  mkdir -p "$debs"
  debootstrap --variant=minbase --components=main --include="$pkgs" --cache-dir="$debs" \
    --keyring=/usr/share/keyrings/debian-archive-keyring.gpg "$suite" "$root" "$mirror" >&2
  recipe_sources "$root" "$suite" "$mirror" "$sec"
  recipe_configure "$root"
  # apt lists inside the image, so scenarios can `apt-get install` right away.
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  chroot "$root" apt-get update -qq
  chroot "$root" apt-get -y -qq -o Dpkg::Options::=--force-confold dist-upgrade >/dev/null
  chroot "$root" apt-get clean
  : >"$root/etc/resolv.conf"
  rm -rf "$root/var/log/"*.log "$root/var/log/apt/"* "$root/var/cache/debconf/"*-old "$root/tmp/"* \
    "$root/var/cache/apt/"*.bin
}
# ------------------------------------ end of recipe ------------------------------------------

recipe_hash() { # <suite> <mirror> <security-mirror>
  {
    printf '%s\n' "$@" "${IMAGE_PACKAGES[@]}"
    declare -f recipe_sources recipe_configure recipe_build_rootfs
  } | sha256sum | cut -c1-12
}

mirror_for_suite() { # <suite>
  local m
  m="${WGOPS_DEBIAN_MIRROR:-$(detect_mirror)}"
  if [[ $1 == trixie ]]; then
    if [[ -n ${WGOPS_TRIXIE_MIRROR:-} ]]; then m=$WGOPS_TRIXIE_MIRROR
    elif [[ $m == *snapshot.debian.org* ]]; then m=http://deb.debian.org/debian
    fi
  fi
  echo "${m%/}"
}

ensure_debootstrap_knows() { # <suite>
  local s=/usr/share/debootstrap/scripts
  [[ -e $s/$1 ]] && return 0
  # Old debootstrap without a script for a newer suite: sid's script handles it.
  log "debootstrap has no script for $1, linking it to sid"
  ln -s sid "$s/$1"
}

build_image() { # <suite>
  local suite=$1 mirror sec hash tag tarball start tmp t
  start=$(date +%s)
  mirror=$(mirror_for_suite "$suite")
  sec=$(security_mirror_for "$mirror")
  hash=$(recipe_hash "$suite" "$mirror" "$sec")
  tag="$IMAGE_REPO:$suite-$hash"
  tarball="$CACHE_DIR/wgops-debian-$suite-$hash.tar.zst"

  if [[ ${WGOPS_IMAGE_REBUILD:-0} != 1 ]] && podman image exists "$tag"; then
    podman tag "$tag" "$IMAGE_REPO:$suite"
    log "image $tag: present ($(($(date +%s) - start))s)"
    return 0
  fi

  mkdir -p "$CACHE_DIR"
  if [[ ${WGOPS_IMAGE_REBUILD:-0} == 1 || ! -s $tarball ]]; then
    ensure_debootstrap_knows "$suite"
    log "building $suite rootfs from $mirror (debootstrap, takes about a minute)"
    tmp=$(mktemp -d /var/tmp/wgops-rootfs-XXXXXX)
    # shellcheck disable=SC2064
    trap "rm -rf '$tmp'" EXIT
    recipe_build_rootfs "$tmp/rootfs" "$suite" "$mirror" "$sec" "$CACHE_DIR/debs/$suite"
    t=$(date +%s)
    tar --numeric-owner --xattrs --acls -C "$tmp/rootfs" -c . | zstd -q -T0 -3 -o "$tarball.part"
    mv -f "$tarball.part" "$tarball"
    rm -rf "$tmp"
    trap - EXIT
    log "rootfs $suite: debootstrap+configure $((t - start))s, tarball $(($(date +%s) - t))s"
    # Drop tarballs of older recipes for this suite.
    find "$CACHE_DIR" -maxdepth 1 -name "wgops-debian-$suite-*.tar.zst" ! -name "${tarball##*/}" -delete
  else
    log "image $tag: importing cached rootfs ${tarball##*/}"
  fi

  t=$(date +%s)
  podman import --quiet \
    --change 'CMD ["/sbin/init"]' \
    --change 'STOPSIGNAL SIGRTMIN+3' \
    --change 'ENV container=podman' \
    --change "LABEL wgops.recipe=$hash" \
    --change "LABEL wgops.suite=$suite" \
    --message "wgops testbed $suite ($hash)" \
    "$tarball" "$tag" >/dev/null
  podman tag "$tag" "$IMAGE_REPO:$suite"
  log "image $tag: import $(($(date +%s) - t))s"
  # Remove images of older recipes for this suite (ignored while a container still uses one).
  podman images --format '{{.Repository}}:{{.Tag}}' "$IMAGE_REPO" |
    grep -E "^$IMAGE_REPO:$suite-[0-9a-f]{12}\$" | grep -vx "$tag" |
    xargs -r podman rmi >/dev/null 2>&1 || true
  log "image $suite ready: $tag (total $(($(date +%s) - start))s)"
}

main() {
  local suites=("$@") s total
  ((${#suites[@]})) || suites=("${SUITES_DEFAULT[@]}")
  total=$(date +%s)
  mkdir -p /run/lock
  exec 9>/run/lock/wgops-testbed.lock
  flock 9
  ensure_host_packages
  ensure_host_sysctls
  ensure_system_conf
  for s in "${suites[@]}"; do
    case "$s" in bookworm | trixie) ;; *) die "unknown suite: $s (bookworm, trixie)" ;; esac
    build_image "$s"
  done
  log "testbed ready ($(($(date +%s) - total))s)"
}

main "$@"
