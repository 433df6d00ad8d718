#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Install the built tree into a temporary prefix, then build and run small
# consumers with pkg-config and with find_package(mizar); check the exported
# symbol set of libmizar.so.
set -euo pipefail

build=${MZR_BUILD_DIR:?MZR_BUILD_DIR not set}
work=$(mktemp -d /tmp/mzr-install.XXXXXX)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

cmake --install "$build" --prefix "$prefix" >"$work/install.log" ||
	{ cat "$work/install.log"; exit 1; }
libdir=$(dirname "$(find "$prefix" -name libmizar.so -print -quit)")
[ -n "$libdir" ] || { echo "FAIL: libmizar.so not installed"; exit 1; }
export PKG_CONFIG_PATH=$libdir/pkgconfig

cat >"$work/hello.c" <<'C'
#include <errno.h>
#include <stdio.h>
#include <mizar/mizar.h>

int main(void)
{
	char buf[64];

	mzr_strerror(-ENOSPC, buf, sizeof(buf));
	printf("libmizar %s (%u.%u): %s\n", mzr_version_string(),
	       mzr_version_major(), mzr_version_minor(), buf);
	return mzr_version_major() == MZR_VERSION_MAJOR ? 0 : 1;
}
C

# 1. pkg-config, shared.
# shellcheck disable=SC2046
cc -Wall -Wextra -Werror -o "$work/hello" "$work/hello.c" \
	$(pkg-config --cflags --libs libmizar) || fail "pkg-config build"
out=$(LD_LIBRARY_PATH=$libdir "$work/hello") || fail "pkg-config run"
echo "pkg-config consumer: $out"
want="libmizar $(pkg-config --modversion libmizar) "
case "$out" in "$want"*) ;; *) fail "version mismatch: '$out' vs pc '$want'" ;; esac

# 2. pkg-config, static.
# shellcheck disable=SC2046
cc -o "$work/hello_static" "$work/hello.c" \
	$(pkg-config --cflags libmizar) "$libdir/libmizar.a" \
	$(pkg-config --static --libs libmizar | sed 's/-lmizar//') ||
	fail "static build"
"$work/hello_static" >/dev/null || fail "static run"

# 3. CMake package.
mkdir -p "$work/cm"
cp "$work/hello.c" "$work/cm/"
cat >"$work/cm/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.20)
project(hello C)
find_package(mizar 0.1 REQUIRED)
add_executable(hello hello.c)
target_link_libraries(hello PRIVATE mizar::mizar)
CM
cmake -S "$work/cm" -B "$work/cm/build" -DCMAKE_PREFIX_PATH="$prefix" \
	>"$work/cm.log" 2>&1 && cmake --build "$work/cm/build" >>"$work/cm.log" 2>&1 ||
	{ cat "$work/cm.log"; fail "find_package build"; }
out=$(LD_LIBRARY_PATH=$libdir "$work/cm/build/hello") || fail "find_package run"
echo "find_package consumer: $out"

# 3b. The README's example compiles and links as printed.
awk '/^```c$/{on=1; next} /^```$/{on=0} on' "${MZR_SOURCE_DIR:?}/README.md" \
	>"$work/readme.c"
if [ -s "$work/readme.c" ]; then
	# shellcheck disable=SC2046
	cc -Wall -Wextra -Werror -o "$work/readme" "$work/readme.c" \
		$(pkg-config --cflags --libs libmizar) || fail "README example"
else
	fail "no C example found in README.md"
fi

# 4. ABI: SONAME on the major version; only versioned mzr_ symbols.
soname=$(readelf -d "$libdir/libmizar.so" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
[ "$soname" = "libmizar.so.0" ] || fail "SONAME is '$soname'"
syms=$(nm -D --defined-only "$libdir/libmizar.so" | awk '$2 != "A" {print $3}')
[ -n "$syms" ] || fail "no exported symbols"
bad=$(echo "$syms" | grep -v '^mzr_[a-z0-9_]*@@LIBMIZAR_[0-9.]*$' || true)
[ -z "$bad" ] || fail "symbols outside mzr_* or unversioned: $bad"
echo "exported: $(echo "$syms" | wc -l) versioned mzr_ symbols"

# 4b. Installed binaries run as installed: no LD_LIBRARY_PATH, no ldconfig.
for b in sbin/mizarctl sbin/mizar-lb sbin/mizar-acl sbin/mizar-nat sbin/mizar-ratelimit; do
	if [ -x "$prefix/$b" ]; then
		if out=$(env -u LD_LIBRARY_PATH "$prefix/$b" --version 2>&1); then
			echo "installed $b: $out"
		else
			fail "installed $b does not run: $out"
		fi
	else
		fail "$b not installed"
	fi
done

# 5. Installed BPF headers and the CMake function for NF authors.
[ -f "$prefix/include/mizar/bpf/maps.h" ] || fail "BPF headers not installed"
[ -f "$libdir/cmake/mizar/MizarBpf.cmake" ] || fail "MizarBpf.cmake not installed"

if [ "$failures" -ne 0 ]; then
	echo "install_sdk: $failures check(s) failed"
	exit 1
fi
echo "install_sdk: all checks passed"
