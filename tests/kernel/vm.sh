#!/usr/bin/env bash
# Kernel WireGuard testbed: two Debian 12 virtual machines under qemu (TCG; nested KVM hangs here),
# booted from Debian's own kernel (linux-image-amd64, which ships the wireguard module).
#
#   tests/kernel/vm.sh build                     build (or reuse) the image; prints its directory
#   tests/kernel/vm.sh up <dir> <name1> <name2>  boot two VMs, state in <dir>; waits for SSH and
#                                                writes <dir>/instances.json (name, port, key)
#   tests/kernel/vm.sh down <dir>                stop the VMs of <dir> and remove their disks
#   tests/kernel/vm.sh ssh <dir> <name> [cmd]    ssh into one of them
#
# Image:   ${XDG_CACHE_HOME:-~/.cache}/wgops/kernel/<hash>/{vmlinuz,initrd.img,rootfs.img}; hash = the
#          recipe (mirror, packages and the recipe functions below). rootfs.img is a bare ext4 file
#          system (mkfs.ext4 -d, no partitions, no bootloader): qemu boots -kernel/-initrd with
#          root=/dev/vda; each VM writes to its own qcow2 overlay in <dir>.
# Network: per VM, eth0 = qemu user networking (NAT for apt, SSH forwarded from 127.0.0.1:<port>),
#          eth1 = a point-to-point link between the two VMs (qemu -netdev socket,udp over loopback),
#          10.89.80.11/24 and 10.89.80.12/24 (block 80; nothing of it is visible on the host).
# Per VM settings come from the kernel command line (systemd.hostname=, wgops.link=, wgops.key=),
#          applied by wgops-vm-setup.service before networkd and sshd start: the image is never
#          modified per run, and the SSH key is made per run (in <dir>).
# Env:     WGOPS_DEBIAN_MIRROR  Debian mirror (default: this machine's apt sources)
#          WGOPS_VM_MEMORY      MiB per VM (default 1024)
#          WGOPS_VM_REBUILD=1   rebuild the image even if cached
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8
CACHE_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/wgops/kernel"
MEMORY="${WGOPS_VM_MEMORY:-1024}"
LINK_NET=10.89.80

HOST_PACKAGES=(qemu-system-x86 qemu-utils debootstrap debian-archive-keyring e2fsprogs openssh-client)
VM_PACKAGES=(systemd systemd-sysv dbus udev kmod openssh-server python3 python3-apt iproute2
  iputils-ping procps netcat-openbsd ca-certificates gnupg)

log() { printf '[kernel-vm] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[[ $EUID -eq 0 ]] || die "must run as root (debootstrap, chroot)"

ensure_host_packages() {
  local missing=() p
  for p in "${HOST_PACKAGES[@]}"; do
    [[ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null)" == "ii "* ]] || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  log "installing host packages: ${missing[*]}"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# detect_mirror: the Debian archive of this machine's apt sources.
# shellcheck source=tests/testbed/debian-mirror.sh
source "$(dirname "${BASH_SOURCE[0]}")/../testbed/debian-mirror.sh"

# ------------------------------------ recipe (hashed) ----------------------------------------
recipe_configure() { # <rootfs> <mirror>
  local root=$1 mirror=$2 extra="" u
  [[ $mirror == *snapshot.debian.org* ]] && extra=$'\nCheck-Valid-Until: no'
  rm -f "$root/etc/apt/sources.list"
  printf 'Types: deb\nURIs: %s\nSuites: bookworm bookworm-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg%s\n' \
    "$mirror" "$extra" >"$root/etc/apt/sources.list.d/debian.sources"
  cat >"$root/etc/dpkg/dpkg.cfg.d/01-wgops-nodoc" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
EOF
  printf 'Acquire::Languages "none";\nAcquire::Retries "3";\nAPT::Periodic::Enable "0";\n' \
    >"$root/etc/apt/apt.conf.d/90wgops-testbed"
  # A small initramfs (only what finds an ext4 root on virtio): TCG decompresses it slowly.
  mkdir -p "$root/etc/initramfs-tools/conf.d"
  printf 'MODULES=list\n' >"$root/etc/initramfs-tools/conf.d/wgops.conf"
  printf 'virtio_pci\nvirtio_blk\next4\n' >>"$root/etc/initramfs-tools/modules"
  printf '/dev/vda / ext4 rw,errors=remount-ro 0 1\n' >"$root/etc/fstab"
  printf 'nameserver 10.0.2.3\n' >"$root/etc/resolv.conf"
  printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
  printf 'LANG=C.UTF-8\n' >"$root/etc/default/locale"
  : >"$root/etc/machine-id"
  rm -f "$root/var/lib/dbus/machine-id" "$root/etc/hostname"
  # eth0: qemu user networking (static: its DHCP only slows the boot); eth1: the VM-to-VM link,
  # its address comes from the kernel command line (wgops-vm-setup).
  mkdir -p "$root/etc/systemd/network"
  printf '[Match]\nName=eth0\n[Network]\nAddress=10.0.2.15/24\nGateway=10.0.2.2\nDNS=10.0.2.3\nIPv6AcceptRA=no\n' \
    >"$root/etc/systemd/network/10-eth0.network"
  cat >"$root/usr/local/sbin/wgops-vm-setup" <<'EOF'
#!/bin/sh
# Applies wgops.link=<addr/len> and wgops.key=<base64 authorized_keys> from the kernel command line.
set -e
link="" key=""
for w in $(cat /proc/cmdline); do
  case "$w" in wgops.link=*) link=${w#*=} ;; wgops.key=*) key=${w#*=} ;; esac
done
if [ -n "$link" ]; then
  printf '[Match]\nName=eth1\n[Network]\nAddress=%s\nIPv6AcceptRA=no\nLinkLocalAddressing=no\n' "$link" \
    >/etc/systemd/network/20-eth1.network
fi
if [ -n "$key" ]; then
  install -d -m 0700 /root/.ssh
  echo "$key" | base64 -d >/root/.ssh/authorized_keys
  chmod 0600 /root/.ssh/authorized_keys
fi
h=$(cat /proc/sys/kernel/hostname)
grep -q "[[:space:]]$h\$" /etc/hosts || printf '127.0.1.1\t%s\n' "$h" >>/etc/hosts
EOF
  chmod 0755 "$root/usr/local/sbin/wgops-vm-setup"
  cat >"$root/etc/systemd/system/wgops-vm-setup.service" <<'EOF'
[Unit]
Description=wgops test VM settings from the kernel command line
DefaultDependencies=no
After=local-fs.target
Before=systemd-networkd.service ssh.service network-pre.target sysinit.target
Wants=network-pre.target
[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/sbin/wgops-vm-setup
[Install]
WantedBy=sysinit.target
EOF
  chroot "$root" systemctl enable -q wgops-vm-setup.service systemd-networkd.service ssh.service
  # Nothing to do in a throwaway VM (and slow under TCG).
  for u in getty@.service serial-getty@.service getty.target systemd-networkd-wait-online.service \
    apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service fstrim.timer \
    systemd-timesyncd.service man-db.timer dpkg-db-backup.timer logrotate.timer; do
    ln -sfn /dev/null "$root/etc/systemd/system/$u"
  done
  printf 'UseDNS no\nPasswordAuthentication no\n' >"$root/etc/ssh/sshd_config.d/wgops.conf"
}

recipe_build() { # <rootfs> <mirror> <deb-cache> <outdir>
  local root=$1 mirror=$2 debs=$3 out=$4 pkgs
  pkgs=$(IFS=,; echo "${VM_PACKAGES[*]}")
  mkdir -p "$debs"
  debootstrap --variant=minbase --components=main --include="$pkgs" --cache-dir="$debs" \
    --keyring=/usr/share/keyrings/debian-archive-keyring.gpg bookworm "$root" "$mirror" >&2
  recipe_configure "$root" "$mirror"
  mount -t proc proc "$root/proc"
  mount --bind /dev "$root/dev"
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  chroot "$root" apt-get update -qq
  chroot "$root" apt-get -y -qq -o Dpkg::Options::=--force-confold dist-upgrade >/dev/null
  chroot "$root" apt-get -y -qq --no-install-recommends install linux-image-amd64 initramfs-tools zstd >/dev/null
  chroot "$root" apt-get clean
  umount "$root/dev" "$root/proc"
  printf 'nameserver 10.0.2.3\n' >"$root/etc/resolv.conf"
  rm -rf "$root/var/log/"*.log "$root/var/log/apt/"* "$root/tmp/"* "$root/var/cache/apt/"*.bin
  cp "$(readlink -f "$root/vmlinuz")" "$out/vmlinuz"
  cp "$(readlink -f "$root/initrd.img")" "$out/initrd.img"
  mkfs.ext4 -q -F -L wgops-root -d "$root" "$out/rootfs.img" 3G
}
# ------------------------------------ end of recipe ------------------------------------------

recipe_hash() { # <mirror>
  { printf '%s\n' "$1" "${VM_PACKAGES[@]}"; declare -f recipe_configure recipe_build; } | sha256sum | cut -c1-12
}

cmd_build() {
  local mirror hash dir tmp start
  start=$(date +%s)
  ensure_host_packages
  mirror="${WGOPS_DEBIAN_MIRROR:-$(detect_mirror)}"
  mirror=${mirror%/}
  hash=$(recipe_hash "$mirror")
  dir="$CACHE_DIR/$hash"
  mkdir -p "$CACHE_DIR" /run/lock
  exec 8>/run/lock/wgops-kernel-image.lock
  flock 8
  if [[ ${WGOPS_VM_REBUILD:-0} != 1 && -s $dir/rootfs.img && -s $dir/initrd.img && -s $dir/vmlinuz ]]; then
    log "image $hash: cached"
    echo "$dir"
    return 0
  fi
  log "building the VM image $hash from $mirror (debootstrap + linux-image-amd64, a few minutes)"
  tmp=$(mktemp -d /var/tmp/wgops-vm-XXXXXX)
  # shellcheck disable=SC2064
  trap "umount -q '$tmp/rootfs/dev' '$tmp/rootfs/proc' 2>/dev/null; rm -rf --one-file-system '$tmp'" EXIT
  mkdir -p "$tmp/out"
  recipe_build "$tmp/rootfs" "$mirror" "$CACHE_DIR/debs" "$tmp/out"
  rm -rf "$dir"
  mv "$tmp/out" "$dir"
  rm -rf --one-file-system "$tmp"
  trap - EXIT
  # Drop images of older recipes.
  find "$CACHE_DIR" -mindepth 1 -maxdepth 1 -type d -regex '.*/[0-9a-f]\{12\}' ! -name "$hash" -exec rm -rf {} +
  log "image $hash built in $(($(date +%s) - start))s"
  echo "$dir"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

ssh_opts() { # <dir>
  echo "-i $1/id_ed25519 -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=5 -o BatchMode=yes"
}

cmd_up() { # <dir> <name1> <name2>
  local dir=$1 img i name port key lport rport start t deadline json="[" ok
  shift
  (($# == 2)) || die "up needs exactly two VM names"
  img=$(cmd_build)
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  start=$(date +%s)
  [[ -s $dir/id_ed25519 ]] || ssh-keygen -q -t ed25519 -N '' -C wgops-kernel-test -f "$dir/id_ed25519"
  key=$(base64 -w0 <"$dir/id_ed25519.pub")
  lport=$(free_port) rport=$(free_port)
  for i in 1 2; do
    name=${!i}
    if [[ -s $dir/$name.pid ]] && kill -0 "$(cat "$dir/$name.pid")" 2>/dev/null; then
      log "$name: already running"
    else
      port=$(free_port)
      echo "$port" >"$dir/$name.port"
      rm -f "$dir/$name.qcow2"
      qemu-img create -q -f qcow2 -F raw -b "$img/rootfs.img" "$dir/$name.qcow2"
      local a=$lport b=$rport
      ((i == 2)) && a=$rport b=$lport
      qemu-system-x86_64 -name "wgops-$name" -machine q35 -accel tcg -cpu max -smp 1 -m "$MEMORY" \
        -kernel "$img/vmlinuz" -initrd "$img/initrd.img" \
        -append "root=/dev/vda rw console=ttyS0 net.ifnames=0 systemd.hostname=$name wgops.link=$LINK_NET.1$i/24 wgops.key=$key systemd.show_status=1" \
        -drive "file=$dir/$name.qcow2,if=virtio,format=qcow2,cache=unsafe" \
        -netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$port-:22" -device "virtio-net-pci,netdev=n0,mac=52:54:00:80:00:1$i" \
        -netdev "socket,id=n1,udp=127.0.0.1:$b,localaddr=127.0.0.1:$a" -device "virtio-net-pci,netdev=n1,mac=52:54:00:80:01:1$i" \
        -display none -serial "file:$dir/$name.console.log" -monitor none \
        -daemonize -pidfile "$dir/$name.pid"
      log "$name: started (pid $(cat "$dir/$name.pid"), ssh 127.0.0.1:$port, link $LINK_NET.1$i)"
    fi
  done
  deadline=$((start + ${WGOPS_VM_BOOT_TIMEOUT:-300}))
  for i in 1 2; do
    name=${!i}
    port=$(cat "$dir/$name.port")
    ok=0
    while (($(date +%s) < deadline)); do
      # shellcheck disable=SC2046
      if ssh $(ssh_opts "$dir") -p "$port" root@127.0.0.1 'systemctl is-system-running --wait >/dev/null; true' 2>/dev/null; then
        ok=1
        break
      fi
      kill -0 "$(cat "$dir/$name.pid")" 2>/dev/null || die "$name: qemu exited (console: $dir/$name.console.log)"
      sleep 2
    done
    ((ok)) || { tail -30 "$dir/$name.console.log" >&2; die "$name: no SSH within ${WGOPS_VM_BOOT_TIMEOUT:-300}s"; }
    json+="{\"instance\": \"$name\", \"address\": \"127.0.0.1\", \"port\": $port, \"user\": \"root\","
    json+=" \"identity_file\": \"$dir/id_ed25519\", \"link_address\": \"$LINK_NET.1$i\"},"
  done
  echo "${json%,}]" >"$dir/instances.json"
  t=$(($(date +%s) - start))
  echo "$t" >"$dir/boot-seconds"
  log "both VMs up over SSH after ${t}s"
}

cmd_down() { # <dir>
  local dir=$1 p pid n
  [[ -d $dir ]] || return 0
  shopt -s nullglob
  for p in "$dir"/*.pid; do
    pid=$(cat "$p")
    n=${p##*/}; n=${n%.pid}
    # Only our own qemu: the pid file's process must be qemu with this VM's name.
    if kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "-name wgops-$n "; then
      kill "$pid"
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
      log "$n: stopped"
    fi
    rm -f "$p" "$dir/$n.qcow2" "$dir/$n.port"
  done
  rm -f "$dir/instances.json"
}

cmd_ssh() { # <dir> <name> [cmd...]
  local dir=$1 name=$2
  shift 2
  # shellcheck disable=SC2046
  exec ssh $(ssh_opts "$dir") -p "$(cat "$dir/$name.port")" root@127.0.0.1 "$@"
}

case "${1:-}" in
  build) cmd_build ;;
  up) shift; (($# >= 1)) || die "usage: $0 up <dir> <name1> <name2>"; cmd_up "$@" ;;
  down) shift; (($# == 1)) || die "usage: $0 down <dir>"; cmd_down "$1" ;;
  ssh) shift; (($# >= 2)) || die "usage: $0 ssh <dir> <name> [cmd]"; cmd_ssh "$@" ;;
  *) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
