#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Shared by scripts/test.sh and scripts/demo-run.sh: install dependencies,
# make sure bpffs is mounted, configure and build.

MZR_SRC_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MZR_BUILD_DIR=${MZR_BUILD_DIR:-$MZR_SRC_DIR/build}

mzr_need_root() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "$1 needs root (CAP_BPF, CAP_NET_ADMIN): run it as root" >&2
		exit 1
	fi
}

mzr_mount_bpffs() {
	if ! mount | grep -q ' /sys/fs/bpf type bpf'; then
		mkdir -p /sys/fs/bpf
		mount -t bpf bpf /sys/fs/bpf
		echo "mounted bpffs on /sys/fs/bpf"
	fi
}

mzr_build() {
	"$MZR_SRC_DIR/scripts/install-deps.sh"
	cmake -S "$MZR_SRC_DIR" -B "$MZR_BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build "$MZR_BUILD_DIR" -j "$(nproc)"
}
