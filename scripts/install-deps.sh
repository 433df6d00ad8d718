#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Install the Debian packages libmizar needs to build, test and run its demo.
# Idempotent: packages already present are not fetched again.
set -euo pipefail

PKGS=(
	build-essential cmake pkg-config git
	clang llvm libbpf-dev libxdp-dev xdp-tools libelf-dev zlib1g-dev
	bpftool linux-libc-dev libcmocka-dev libjson-c-dev scdoc
	lintian dpkg-dev # tests/install/test_deb.sh: Debian packages
	iproute2 iputils-ping iperf3 tshark netcat-openbsd ethtool
	python3 python3-scapy jq procps psmisc
	prometheus # promtool: tests check `mizarctl metrics` with it
	qemu-system-x86 busybox-static xz-utils
	valgrind # tests/valgrind: mizarctl under memcheck
	abigail-tools # tests/install/test_abidiff.sh: abidiff against the last release
)

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "install-deps: all ${#PKGS[@]} packages present"
	exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer for it.
echo "wireshark-common wireshark-common/install-setuid boolean false" |
	$SUDO debconf-set-selections
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
