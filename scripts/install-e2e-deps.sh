#!/usr/bin/env bash
# Install and switch on what the e2e tests need, from Debian's archive.
#
# From trixie (Debian 13), through an apt source pinned at priority 100, so
# that nothing else on this bookworm machine is upgraded to trixie by it:
#   docker.io       dockerd 26.1 (/usr/sbin/dockerd) and its containerd 1.7
#   docker-cli      the 26.1 client, /usr/bin/docker (trixie split it out)
#   docker-buildx   buildx 0.13, the client plugin BuildKit builds go through
#   cosign          cosign 2.5, signing and verifying in the registry
# Each is asked for as `<pkg>/trixie`: only the packages named come from
# trixie, and their dependencies from bookworm wherever bookworm's satisfy
# them. (`apt-get install -t trixie …` would instead prefer trixie for every
# dependency, glibc included.) glibc (libc6) must stay bookworm's: the script
# stops before installing anything when apt wants to upgrade it.
#
# From bookworm:
#   docker-registry registry 2.8 (/usr/bin/docker-registry), run per test
#   skopeo          inspecting/copying images between registries
#   podman, buildah podman 4.3, the second client the Makefile must drive
#   busybox-static  /bin/busybox, the rootfs of the tests' base images
#   qemu-user-static, binfmt-support
#                   qemu-aarch64 registered with binfmt_misc, so that RUN steps
#                   of linux/arm64 builds really run (under emulation)
# and busybox-static:arm64 (downloaded, not installed) whose static arm64
# /bin/busybox becomes $CACHE/arm64/busybox, the rootfs of the base image's
# linux/arm64 entry.
#
# Idempotent. When everything is there already it only checks, then makes sure
# binfmt_misc is mounted and its handlers enabled (neither survives a reboot),
# without apt-get update.
# The tests start their own dockerd and registries; Debian's service units are
# kept from starting during install (policy-rc.d), so installing never starts
# a system dockerd, containerd or registry behind the tests' back.
set -euo pipefail

TRIXIE_PACKAGES=(docker.io docker-cli docker-buildx cosign)
# Lowest acceptable version of each trixie package (bookworm has docker.io 20.10).
declare -A MIN_VERSION=([docker.io]=26.1 [docker-cli]=26.1 [docker-buildx]=0.13 [cosign]=2.5)
BOOKWORM_PACKAGES=(docker-registry skopeo podman buildah busybox-static qemu-user-static binfmt-support)

CACHE=/var/cache/mkimages-e2e
ARM64_BUSYBOX=$CACHE/arm64/busybox
SOURCE_FILE=/etc/apt/sources.list.d/mkimages-e2e-trixie.sources
PIN_FILE=/etc/apt/preferences.d/mkimages-e2e-trixie
BINFMT=/proc/sys/fs/binfmt_misc

say() { echo "install-e2e-deps: $*"; }
die() { echo "install-e2e-deps: $*" >&2; exit 1; }
is_root() { [[ $(id -u) -eq 0 ]]; }

installed_version() {
  # "install ok installed" only: a removed-but-not-purged package ("deinstall
  # ok config-files") must be installed again.
  local status
  status=$(dpkg-query -W -f='${Status}|${Version}' "$1" 2>/dev/null || true)
  [[ "$status" == "install ok installed|"* ]] && echo "${status#*|}"
}

# True when $ARM64_BUSYBOX is an ELF for aarch64 (e_machine 183 at byte 18).
arm64_busybox_ok() {
  [[ -x "$ARM64_BUSYBOX" ]] || return 1
  [[ "$(head -c 4 "$ARM64_BUSYBOX" | od -An -c | tr -d ' ')" == '177ELF' ]] || return 1
  [[ "$(od -An -tu2 -j18 -N2 "$ARM64_BUSYBOX" | tr -d ' ')" == 183 ]]
}

# binfmt_misc mounted and qemu-aarch64 enabled; both are lost at reboot.
ensure_binfmt() {
  if [[ -f "$BINFMT/qemu-aarch64" ]] && [[ "$(head -n1 "$BINFMT/qemu-aarch64")" == enabled ]]; then
    say "binfmt_misc: qemu-aarch64 enabled"
    return 0
  fi
  is_root || die "the qemu-aarch64 binfmt handler is not enabled; run this script as root"
  if [[ ! -e "$BINFMT/register" ]]; then
    mount -t binfmt_misc binfmt_misc "$BINFMT" || die "cannot mount binfmt_misc on $BINFMT"
  fi
  if ! update-binfmts --display qemu-aarch64 >/dev/null 2>&1; then
    update-binfmts --import qemu-aarch64
  fi
  update-binfmts --enable
  # --enable registers what is missing but leaves a registered, disabled
  # handler (echo 0 > $BINFMT/qemu-aarch64) as it is.
  if [[ -f "$BINFMT/qemu-aarch64" ]] && [[ "$(head -n1 "$BINFMT/qemu-aarch64")" != enabled ]]; then
    echo 1 >"$BINFMT/qemu-aarch64"
  fi
  [[ -f "$BINFMT/qemu-aarch64" ]] && [[ "$(head -n1 "$BINFMT/qemu-aarch64")" == enabled ]] ||
    die "qemu-aarch64 is not enabled in $BINFMT after update-binfmts --enable"
  say "binfmt_misc: qemu-aarch64 enabled ($(sed -n 's/^interpreter //p' "$BINFMT/qemu-aarch64"))"
}

print_versions() {
  say "docker $(installed_version docker-cli), dockerd $(installed_version docker.io), buildx $(installed_version docker-buildx)," \
    "cosign $(installed_version cosign), podman $(installed_version podman), skopeo $(installed_version skopeo)," \
    "qemu-user-static $(installed_version qemu-user-static), libc6 $(installed_version libc6)"
}

missing_trixie=()
for pkg in "${TRIXIE_PACKAGES[@]}"; do
  v=$(installed_version "$pkg" || true)
  if [[ -z "$v" ]] || dpkg --compare-versions "${v#*:}" lt "${MIN_VERSION[$pkg]}"; then
    missing_trixie+=("$pkg")
  fi
done
missing_bookworm=()
for pkg in "${BOOKWORM_PACKAGES[@]}"; do
  [[ -n "$(installed_version "$pkg" || true)" ]] || missing_bookworm+=("$pkg")
done
need_arm64=0
arm64_busybox_ok || need_arm64=1

if ((${#missing_trixie[@]} == 0 && ${#missing_bookworm[@]} == 0 && need_arm64 == 0)); then
  say "already installed: ${TRIXIE_PACKAGES[*]} (trixie) ${BOOKWORM_PACKAGES[*]}, $ARM64_BUSYBOX"
  print_versions
  ensure_binfmt
  exit 0
fi

is_root || die "missing ${missing_trixie[*]} ${missing_bookworm[*]}$( ((need_arm64)) && echo " $ARM64_BUSYBOX"); run this script as root"

# Keep invoke-rc.d from starting services (exit 101 = "action forbidden").
# Only install our policy when none exists, and remove only our own.
policy=/usr/sbin/policy-rc.d
own_policy=0
if [[ ! -e "$policy" ]]; then
  printf '#!/bin/sh\n# installed by mkimages scripts/install-e2e-deps.sh\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  own_policy=1
fi
cleanup() { if ((own_policy)); then rm -f "$policy"; fi; }
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
native=$(dpkg --print-architecture)

# trixie for the native architecture only, at priority 100: below bookworm's
# 500, so it is used only where asked for by name (<pkg>/trixie) or where no
# bookworm version satisfies a dependency of such a package.
cat >"$SOURCE_FILE" <<EOF
# Added by mkimages scripts/install-e2e-deps.sh: docker.io 26.1, docker-cli,
# docker-buildx and cosign for the e2e tests. Pinned low in $PIN_FILE.
Types: deb
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Architectures: $native
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
cat >"$PIN_FILE" <<'EOF'
# Added by mkimages scripts/install-e2e-deps.sh: take nothing from trixie
# unless asked for by name (apt-get install docker.io/trixie).
Package: *
Pin: release n=trixie
Pin-Priority: 100
EOF

# arm64 is needed only for `apt-get download busybox-static:arm64`; when this
# script added it, it removes it again afterwards (nothing arm64 gets
# installed), so later apt-get updates do not fetch arm64 package lists.
own_arm64=0
if ((need_arm64)) && ! dpkg --print-foreign-architectures | grep -qx arm64; then
  dpkg --add-architecture arm64
  own_arm64=1
fi

say "apt-get update"
apt-get update -qq

libc_before=$(installed_version libc6 || true)
want=()
for pkg in "${missing_trixie[@]}"; do want+=("$pkg/trixie"); done
want+=("${missing_bookworm[@]}")

if ((${#want[@]})); then
  say "installing ${want[*]}"
  plan=$(apt-get install -s -y --no-install-recommends "${want[@]}" 2>&1) || {
    echo "$plan" >&2
    die "apt-get cannot install ${want[*]} (simulation failed, see above)"
  }
  if grep -E '^Inst (libc6|libc-bin)(:[a-z0-9]+)? ' <<<"$plan" >&2; then
    die "apt wants to upgrade glibc (lines above) to install ${want[*]}; stopping with nothing installed. glibc must stay bookworm's ($libc_before)"
  fi
  apt-get install -y -qq --no-install-recommends "${want[@]}"
  libc_after=$(installed_version libc6 || true)
  [[ "$libc_after" == "$libc_before" ]] || die "libc6 changed from $libc_before to $libc_after"
fi

if ((need_arm64)); then
  say "downloading busybox-static:arm64 into $CACHE"
  mkdir -p "$CACHE/arm64"
  rm -f "$CACHE"/busybox-static_*_arm64.deb
  # apt's download sandbox user (_apt) cannot write a root-owned directory.
  (cd "$CACHE" && apt-get download -qq -o APT::Sandbox::User=root busybox-static:arm64)
  deb=$(ls "$CACHE"/busybox-static_*_arm64.deb | head -n1)
  x=$(mktemp -d)
  dpkg-deb -x "$deb" "$x"
  install -m 755 "$x/bin/busybox" "$ARM64_BUSYBOX"
  rm -rf "$x"
  arm64_busybox_ok || die "$ARM64_BUSYBOX from $deb is not an arm64 ELF"
  if ((own_arm64)); then
    dpkg --remove-architecture arm64 || say "note: could not remove the arm64 architecture again (dpkg --remove-architecture arm64)"
  fi
fi

for bin in /usr/bin/docker /usr/sbin/dockerd /usr/bin/containerd /usr/libexec/docker/cli-plugins/docker-buildx \
  /usr/bin/cosign /usr/bin/docker-registry /usr/bin/skopeo /usr/bin/podman /usr/bin/buildah /bin/busybox \
  /usr/bin/qemu-aarch64-static "$ARM64_BUSYBOX"; do
  [[ -x "$bin" ]] || die "expected $bin after install, not found"
done

ensure_binfmt

say "libc6 $(installed_version libc6) (unchanged)"
print_versions
say "done"
