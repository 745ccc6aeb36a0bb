#!/usr/bin/env bash
# The lab machines' disk image: Debian 12 (bookworm) as a DigitalOcean or Hetzner Debian image boots it,
# built from Debian's mirror with mmdebstrap (release + -updates + -security, so the kernel is the current
# one, not the point release's). Prints the image directory:
#
#   /var/cache/berth-e2e/machine-image/<recipe-hash>/
#       vmlinuz initrd.img   the image's kernel and initramfs (the lab boots them directly)
#       base.qcow2           the root filesystem (ext4, no partition table; root=/dev/vda)
#       manifest.txt         every package and version in the image
#       done                 the stamp: only a whole image gets one
#
#   tools/machine-image.sh                      # build once (about 3 minutes cold), then reuse
#   MACHINE_IMAGE_CACHE=DIR tools/machine-image.sh
#   MACHINE_IMAGE_FORCE=1 tools/machine-image.sh  # rebuild (the .deb cache makes it faster)
#
# The hash covers this script and its package list, so changing the recipe makes a new image. .debs are
# kept in <cache>/debs, so a rebuild downloads only what the mirror has changed since.
#
# What a cloud's Debian image has: systemd, cloud-init, openssh-server, sudo, curl, gnupg, ca-certificates,
# iproute2, the cloud kernel. What Berth's bootstrap installs is left out on purpose (docker, ufw,
# unattended-upgrades): installing them for real is what the machines are for.
set -euo pipefail

suite=bookworm
cache=${MACHINE_IMAGE_CACHE:-/var/cache/berth-e2e/machine-image}
mirror=${MACHINE_IMAGE_MIRROR:-http://deb.debian.org/debian}
security_mirror=${MACHINE_IMAGE_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
size=3G

log() { echo "[machine-image $(date +%T)] $*" >&2; }
fail() { echo "machine-image: $*" >&2; exit 1; }

packages=(
  linux-image-cloud-amd64 initramfs-tools zstd
  systemd-sysv udev dbus systemd-resolved
  cloud-init cloud-guest-utils
  openssh-server sudo ca-certificates curl gnupg
  iproute2 iputils-ping netbase procps less kmod
  e2fsprogs util-linux locales
)

key=$({ cat "$0"; echo "$suite $mirror $security_mirror $size ${packages[*]}"; } | sha256sum | cut -c1-16)
out=$cache/$key
if [ -f "$out/done" ] && [ -z "${MACHINE_IMAGE_FORCE:-}" ]; then
  echo "$out"
  exit 0
fi
[ "$(id -u)" -eq 0 ] || fail "building the image needs root (mmdebstrap --mode=root, mkfs); run it as root"

# Prerequisites, by package name.
need=()
command -v mmdebstrap >/dev/null || need+=(mmdebstrap)
command -v mkfs.ext4 >/dev/null || need+=(e2fsprogs)
command -v qemu-img >/dev/null || need+=(qemu-utils)
command -v zstd >/dev/null || need+=(zstd)
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]} with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt_get() { apt-get -y -q -o DPkg::Lock::Timeout=900 "$@" >&2; }
  apt_get install --no-install-recommends "${need[@]}" \
    || { apt_get update && apt_get install --no-install-recommends "${need[@]}"; } \
    || fail "apt-get refused to install ${need[*]} (see above); install them and run this again"
fi

debs=$cache/debs
work=$cache/build-$key
mkdir -p "$debs"
rm -rf "$work" "$out.tmp"
mkdir -p "$work" "$out.tmp"
trap 'rm -rf "$work" "$out.tmp"' EXIT

# Hooks run on this machine with $1 = the image's root.
# Before the kernel is installed: an initramfs with just what a virtio machine needs (5 MB instead of 30;
# every byte of it is decompressed under emulation at each boot).
cat > "$work/essential-hook.sh" <<'EOF'
#!/bin/sh
set -e
mkdir -p "$1/etc/initramfs-tools/conf.d" "$1/etc/initramfs-tools/hooks"
echo 'MODULES=list' > "$1/etc/initramfs-tools/conf.d/berth-lab.conf"
cat > "$1/etc/initramfs-tools/hooks/berth-lab" <<'HOOK'
#!/bin/sh
case "$1" in prereqs) exit 0;; esac
. /usr/share/initramfs-tools/hook-functions
for m in virtio_pci virtio_blk virtio_scsi virtio_net sd_mod ext4 crc32c_generic; do manual_add_modules "$m"; done
HOOK
chmod 755 "$1/etc/initramfs-tools/hooks/berth-lab"
EOF

cat > "$work/customize-hook.sh" <<EOF
#!/bin/sh
set -e
r="\$1"
# apt as a Debian cloud image has it: the mirror, -updates and -security, deb822.
rm -f "\$r/etc/apt/sources.list"
cat > "\$r/etc/apt/sources.list.d/debian.sources" <<SRC
Types: deb
URIs: $mirror
Suites: $suite $suite-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security_mirror
Suites: $suite-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
# The mirror this lab reaches may serve Release files past their Valid-Until (a frozen snapshot).
echo 'Acquire::Check-Valid-Until "false";' > "\$r/etc/apt/apt.conf.d/99berth-lab-mirror"
# Identity is made per machine on first boot: machine-id by systemd, SSH host keys by cloud-init.
echo 'LABEL=root / ext4 defaults,errors=remount-ro 0 1' > "\$r/etc/fstab"
echo localhost > "\$r/etc/hostname"
: > "\$r/etc/machine-id"
rm -f "\$r/var/lib/dbus/machine-id" "\$r"/etc/ssh/ssh_host_*
sed -i 's/^# *\(en_US.UTF-8\)/\1/' "\$r/etc/locale.gen"
chroot "\$r" locale-gen >/dev/null
echo 'LANG=C.UTF-8' > "\$r/etc/default/locale"
# cloud-init reads the lab's NoCloud seed only: no minutes spent probing EC2/GCE/... metadata services.
# Everything else is Debian's own cloud.cfg; what the clouds add comes as vendor data, as theirs does.
echo 'datasource_list: [ NoCloud, None ]' > "\$r/etc/cloud/cloud.cfg.d/90_berth_lab_datasource.cfg"
# e2scrub_reap only cleans up after e2scrub's LVM snapshots; under emulation it costs ~20 s of boot.
chroot "\$r" systemctl mask e2scrub_reap.service >/dev/null 2>&1
# systemd-networkd + resolved (cloud-init renders the seed's network-config for networkd).
chroot "\$r" systemctl enable systemd-networkd.service systemd-resolved.service >/dev/null 2>&1
ln -sf ../run/systemd/resolve/stub-resolv.conf "\$r/etc/resolv.conf"
chroot "\$r" dpkg-query -W -f='\${Package} \${Version}\n' > "\$r/root/manifest.txt"
EOF
chmod +x "$work/essential-hook.sh" "$work/customize-hook.sh"

log "mmdebstrap $suite from $mirror (+ -updates, -security), .debs cached in $debs"
t0=$(date +%s)
if ! nice -n 10 mmdebstrap --mode=root --variant=minbase --components=main \
    --aptopt='Acquire::Check-Valid-Until "false"' \
    --include="$(IFS=,; echo "${packages[*]}")" \
    --skip=essential/unlink \
    --setup-hook='mkdir -p "$1"/var/cache/apt/archives/' \
    --setup-hook="sync-in $debs /var/cache/apt/archives/" \
    --essential-hook="$work/essential-hook.sh \"\$1\"" \
    --customize-hook="sync-out /var/cache/apt/archives $debs" \
    --customize-hook="$work/customize-hook.sh \"\$1\"" \
    "$suite" "$work/root" "deb $mirror $suite main" "deb $mirror $suite-updates main" \
    "deb $security_mirror $suite-security main" >&2; then
  fail "mmdebstrap failed (above): the mirror $mirror refused or did not answer, or a package is missing"
fi
t1=$(date +%s)
cp "$work"/root/boot/vmlinuz-* "$out.tmp/vmlinuz"
cp "$work"/root/boot/initrd.img-* "$out.tmp/initrd.img"
mv "$work/root/root/manifest.txt" "$out.tmp/manifest.txt"
nice -n 10 mkfs.ext4 -q -F -L root -d "$work/root" "$work/root.raw" "$size"
nice -n 10 qemu-img convert -O qcow2 "$work/root.raw" "$out.tmp/base.qcow2"
t2=$(date +%s)
log "mmdebstrap $((t1 - t0)) s, filesystem and qcow2 $((t2 - t1)) s; base.qcow2 $(du -h "$out.tmp/base.qcow2" | cut -f1)"
echo "suite=$suite key=$key built=$(date -u +%FT%TZ) mmdebstrap_s=$((t1 - t0)) filesystem_s=$((t2 - t1))" \
  > "$out.tmp/done"
rm -rf "$out"
mv "$out.tmp" "$out"
echo "$out"
