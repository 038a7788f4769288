#!/usr/bin/env bash
# Builds Open vSwitch from Debian's openvswitch-source with the patch series
# in ofproto-ext/ applied, into build/ovs/ (ignored by git):
#
#   build/ovs/src     extracted and patched source
#   build/ovs/build   configured build tree (libopenvswitch.a, ovs-vswitchd,
#                     ovs-ofctl, ovs-vsctl, ovsdb-server, ovsdb-tool)
#   build/ovs/stamp   hash of what the build was made from
#
# The build is cached: it is redone only when the source tarball, the patch
# series or this script changes.  Progress goes to stdout; the full log is
# build/ovs/build.log.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
tarball=${OVS_TARBALL:-/usr/src/openvswitch/openvswitch.tar.gz}
series_dir=$top/ofproto-ext
out=$top/build/ovs
src=$out/src
bld=$out/build
jobs=${JOBS:-$(nproc)}

[ -f "$tarball" ] || {
    echo "build-ovs: $tarball missing: run scripts/deps.sh" >&2
    exit 1
}

# What the build depends on: tarball, series file, every patch it names,
# and this script.
patches=()
if [ -f "$series_dir/series" ]; then
    while read -r line; do
        line=${line%%#*}
        line=$(echo "$line" | xargs)
        [ -n "$line" ] && patches+=("$line")
    done < "$series_dir/series"
fi
stamp=$( {
    sha256sum "$tarball" "$0" | cut -d' ' -f1
    [ -f "$series_dir/series" ] && sha256sum "$series_dir/series" | cut -d' ' -f1
    for p in ${patches[@]+"${patches[@]}"}; do
        sha256sum "$series_dir/$p" | cut -d' ' -f1
    done
} | sha256sum | cut -d' ' -f1)

want=(vswitchd/ovs-vswitchd utilities/ovs-ofctl utilities/ovs-vsctl
      utilities/ovs-appctl ovsdb/ovsdb-server ovsdb/ovsdb-tool
      lib/.libs/libopenvswitch.a vswitchd/vswitch.ovsschema)
have_all() {
    local f
    for f in "${want[@]}"; do
        [ -e "$bld/$f" ] || [ -e "$src/$f" ] || return 1
    done
}
if [ -f "$out/stamp" ] && [ "$(cat "$out/stamp")" = "$stamp" ] && have_all
then
    echo "build-ovs: up to date (${#patches[@]} patches), skipping"
    exit 0
fi

start=$(date +%s)
echo "build-ovs: building OVS with ${#patches[@]} patches from ofproto-ext/"
rm -rf "$src" "$bld" "$out/stamp"
mkdir -p "$src" "$bld"
tar -xzf "$tarball" -C "$src" --strip-components=1
for p in ${patches[@]+"${patches[@]}"}; do
    echo "build-ovs: applying $p"
    patch -d "$src" -p1 --quiet --forward < "$series_dir/$p"
done

log=$out/build.log
: > "$log"
echo "build-ovs: configure (about 20 s)"
(cd "$bld" && PYTHON3=/usr/bin/python3 "$src/configure" \
    --enable-shared=no --disable-libcapng --disable-afxdp \
    --localstatedir=/var --sysconfdir=/etc >> "$log" 2>&1) || {
    tail -30 "$log"
    echo "build-ovs: configure failed, see $log" >&2
    exit 1
}

# The full build is about 2-3 minutes on 2 cores.  Print one progress line
# per 10% of compiled files.
total=$(find "$src"/lib "$src"/ofproto "$src"/vswitchd "$src"/ovsdb \
    "$src"/utilities "$src"/vtep "$src"/tests -name '*.c' 2>/dev/null | wc -l)
echo "build-ovs: make -j$jobs (~$total C files, about 3 minutes)"
set +e
(cd "$bld" && make -j"$jobs" V=0 2>&1) | tee -a "$log" | awk -v total="$total" '
    /^  CC/ { n++; pct = int(100 * n / total);
              if (pct >= next_pct) { printf "build-ovs: %3d%% compiled\n", pct;
                                     fflush(); next_pct = pct + 10 } }
    /error:/ { print; fflush() }'
rc=${PIPESTATUS[0]}
set -e
if [ "$rc" -ne 0 ]; then
    tail -40 "$log"
    echo "build-ovs: make failed (exit $rc), see $log" >&2
    exit 1
fi
have_all || { echo "build-ovs: build finished but outputs missing" >&2; exit 1; }
echo "build-ovs: 100% compiled"
echo "$stamp" > "$out/stamp"
echo "build-ovs: done in $(( $(date +%s) - start )) s"
