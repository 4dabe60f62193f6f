#!/usr/bin/env bash
# Install what the e2e tests need, from Debian's archive:
#   docker.io       dockerd 20.10 and its client /usr/bin/docker (BuildKit via
#                   DOCKER_BUILDKIT=1, `docker manifest`)
#   docker-registry registry 2.8 (/usr/bin/docker-registry), run per test
#   skopeo          inspecting/copying images between registries
#   busybox-static  /bin/busybox, the rootfs of the tests' base image
#
# Idempotent: a package already installed is left alone, and when nothing is
# missing the script only checks and exits (no apt-get update).
# The tests start their own dockerd and registries; Debian's service units are
# kept from starting during install (policy-rc.d), so installing never starts
# a system dockerd or registry behind the tests' back.
set -euo pipefail

PACKAGES=(docker.io docker-registry skopeo busybox-static)

missing=()
for pkg in "${PACKAGES[@]}"; do
  # "install ok installed" only: a removed-but-not-purged package ("deinstall
  # ok config-files") must be installed again.
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  if [[ "$status" != "install ok installed" ]]; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "install-e2e-deps: already installed: ${PACKAGES[*]}"
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  echo "install-e2e-deps: missing ${missing[*]}; run this script as root" >&2
  exit 1
fi

echo "install-e2e-deps: installing ${missing[*]}"

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
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"

for bin in /usr/bin/docker /usr/sbin/dockerd /usr/bin/docker-registry /usr/bin/skopeo /bin/busybox; do
  if [[ ! -x "$bin" ]]; then
    echo "install-e2e-deps: expected $bin after install, not found" >&2
    exit 1
  fi
done
echo "install-e2e-deps: installed ${missing[*]}"
/usr/bin/docker --version
/usr/bin/docker-registry --version 2>/dev/null || true
