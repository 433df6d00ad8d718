#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The Debian packages: configure a packaging build out of the source tree
# (prefix /usr, no RUNPATH, compressed man pages), `cpack -G DEB`, then
# lintian must report no error; each package holds what it should; the
# packages unpacked into a scratch root (dpkg -x: this machine's /usr is
# shared) give a working `mizarctl --version` and a pkg-config consumer.
# MZR_DEB_INSTALL=1 (a throwaway CI machine) also runs `dpkg -i` and the
# same checks from /usr, then removes the packages.
set -euo pipefail

src=${MZR_SOURCE_DIR:?MZR_SOURCE_DIR not set}
for t in cpack dpkg-deb lintian gzip cc pkg-config readelf; do
	command -v "$t" >/dev/null ||
		{ echo "FAIL: missing tool '$t' (run scripts/install-deps.sh)"; exit 1; }
done
work=$(mktemp -d /tmp/mzr-deb.XXXXXX)
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

echo "== packaging build in $work/build"
cmake -S "$src" -B "$work/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DCMAKE_INSTALL_PREFIX=/usr -DMIZAR_INSTALL_RPATH=OFF \
	-DMIZAR_MAN_GZIP=ON -DMIZAR_BUILD_TESTS=OFF >"$work/log" 2>&1 &&
	cmake --build "$work/build" -j2 >>"$work/log" 2>&1 &&
	(cd "$work/build" && cpack -G DEB) >>"$work/log" 2>&1 ||
	{ tail -30 "$work/log"; echo "FAIL: packaging build"; exit 1; }
ver=$(sed -n 's/^project(mizar VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
debs=()
for p in libmizar0 libmizar-dev mizar-tools; do
	f=$(echo "$work/build/${p}_${ver}-"*.deb)
	[ -f "$f" ] || { echo "FAIL: no $p package"; exit 1; }
	debs+=("$f")
	echo "built $(basename "$f")"
done

echo "== lintian"
lintian --tag-display-limit 0 "${debs[@]}" 2>&1 | grep -v 'root privileges' |
	tee "$work/lintian" || true
errors=$(grep -c '^E:' "$work/lintian" || true)
[ "$errors" = 0 ] || fail "lintian: $errors error(s)"

echo "== contents"
# has PKG PATTERN: a file of package PKG matches the extended regex.
has() {
	dpkg-deb -c "$work/build/${1}_${ver}-"*.deb | awk '{print $6}' |
		grep -Eq "$2" || fail "$1 lacks $2"
}
has libmizar0 '/usr/lib/.*/libmizar\.so\.0$'
has libmizar-dev '/usr/include/mizar/mizar\.h$'
has libmizar-dev '/usr/include/mizar/bpf/nf\.h$'
has libmizar-dev '/usr/lib/.*/libmizar\.so$'
has libmizar-dev '/usr/lib/.*/libmizar\.a$'
has libmizar-dev '/usr/lib/.*/pkgconfig/libmizar\.pc$'
has libmizar-dev '/usr/lib/.*/cmake/mizar/mizarConfig\.cmake$'
has mizar-tools '/usr/sbin/mizarctl$'
has mizar-tools '/usr/sbin/mizar-lb$'
has mizar-tools '/usr/share/man/man8/mizarctl\.8\.gz$'
has mizar-tools '/usr/share/bash-completion/completions/mizarctl$'
has mizar-tools 'mizar-host@\.service$'

# check_root ROOT: mizarctl --version and a pkg-config consumer from ROOT
# (/ after dpkg -i, else a scratch root with the library path given).
check_root() {
	local root=$1 libdir pc out
	libdir=$(dirname "$(find "$root/usr/lib" -name 'libmizar.so.0' | head -1)")
	pc=$libdir/pkgconfig
	if readelf -d "$root/usr/sbin/mizarctl" | grep -Eq 'RPATH|RUNPATH'; then
		fail "$root/usr/sbin/mizarctl carries a RUNPATH"
	fi
	out=$(LD_LIBRARY_PATH=$libdir "$root/usr/sbin/mizarctl" --version) ||
		fail "mizarctl --version from $root"
	echo "mizarctl --version: $out"
	[[ "$out" == *"$ver"* ]] || fail "mizarctl --version '$out' lacks $ver"
	cat >"$work/hello.c" <<'C'
#include <stdio.h>
#include <mizar/mizar.h>
#include <mizar/bpf/nf.h>

int main(void)
{
	printf("libmizar %s\n", mzr_version_string());
	return mzr_version_major() == MZR_VERSION_MAJOR ? 0 : 1;
}
C
	# The BPF-side header is for BPF programs: only check it is there.
	sed -i '/mizar\/bpf\/nf.h/d' "$work/hello.c"
	[ -f "$root/usr/include/mizar/bpf/nf.h" ] || fail "no BPF SDK headers in $root"
	# shellcheck disable=SC2046
	cc -Wall -Werror -o "$work/hello" "$work/hello.c" \
		$(PKG_CONFIG_PATH=$pc pkg-config --cflags --libs libmizar) ||
		{ fail "pkg-config consumer build from $root"; return; }
	out=$(LD_LIBRARY_PATH=$libdir "$work/hello") ||
		fail "pkg-config consumer run from $root"
	echo "pkg-config consumer: $out"
}

echo "== unpacked into a scratch root (dpkg -x)"
for f in "${debs[@]}"; do
	dpkg -x "$f" "$work/root"
done
check_root "$work/root"

# CI runs on a throwaway machine: install there too (issue 12's check).
if [ "${MZR_DEB_INSTALL:-0}" = 1 ] || [ "${CI:-}" = true ]; then
	echo "== dpkg -i (MZR_DEB_INSTALL=1 or CI=true)"
	dpkg -i "${debs[@]}" || fail "dpkg -i"
	out=$(mizarctl --version) && echo "installed: $out" ||
		fail "installed mizarctl --version"
	cc -o "$work/hello_sys" "$work/hello.c" $(pkg-config --cflags --libs libmizar) &&
		"$work/hello_sys" || fail "pkg-config consumer from /usr"
	dpkg -r mizar-tools libmizar-dev libmizar0 >/dev/null || fail "dpkg -r"
fi

echo "test_deb: ${#debs[@]} packages, lintian errors: $errors, failures: $failures"
[ "$failures" -eq 0 ]
