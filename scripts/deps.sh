#!/usr/bin/env bash
# Idempotent set-up of a Debian 12 machine for the SCAFFOLD suite: installs
# only the Debian packages that are missing.  Run as root (or with sudo on
# PATH).  The OVS build is scripts/build-ovs.sh.
set -euo pipefail

PKGS=(
    build-essential clang libclang-rt-14-dev pkg-config
    libuv1-dev libsqlite3-dev sqlite3 protobuf-c-compiler libprotobuf-c-dev
    libcunit1-dev libssl-dev libinih-dev libjansson-dev
    openvswitch-source openvswitch-switch openvswitch-common
    openvswitch-testcontroller
    mininet iputils-ping iproute2 ethtool iperf3 tcpdump procps psmisc
    python3 python3-matplotlib python3-protobuf
    file xz-utils patch
)

missing=()
for p in "${PKGS[@]}"; do
    st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$st" in
        *"install ok installed"*) ;;
        *) missing+=("$p") ;;
    esac
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "deps: all ${#PKGS[@]} Debian packages present"
    exit 0
fi

SUDO=
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || {
        echo "deps: missing packages (${missing[*]}) and not root" >&2
        exit 1
    }
    SUDO=sudo
fi

echo "deps: installing ${#missing[@]} missing packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Refresh the package lists once per day at most.
lists=/var/lib/apt/lists
if [ -z "$(find "$lists" -maxdepth 1 -name '*Packages*' -mmin -1440 \
        2>/dev/null | head -1)" ]; then
    echo "deps: apt-get update"
    $SUDO apt-get update -q
fi
if ! $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"; then
    echo "deps: install failed; retrying after apt-get update"
    $SUDO apt-get update -q
    $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
echo "deps: done"
