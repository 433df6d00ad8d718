#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The kernel matrix: boot Debian's own kernel packages in qemu over this
# machine's root filesystem (9p, read-only, with a tmpfs overlay on top)
# and run test labels of an already built tree there. Prints a table
# kernel x label.
#
#   scripts/kernel-matrix.sh [-k PACKAGE]... [-l LABELS] [-t SECONDS]
#
#   -k  a kernel image package (default: linux-image-amd64's dependency,
#       Debian 12's 6.1); repeat for several kernels
#   -l  ctest labels, space separated (default "unit pkt"), plus "load":
#       the fuzzer's verifier load of the core and every example NF
#   -t  timeout of each label in the guest, seconds (default 600)
#
# TCG (software emulation) unless MZR_QEMU_ACCEL=kvm.
# Needs root, qemu-system-x86 and busybox-static (installed when missing),
# the kernel packages (apt-get download, cached under MZR_KERNEL_CACHE),
# and a build in MZR_BUILD_DIR (default build/).
set -euo pipefail

MZR_SRC_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MZR_BUILD_DIR=${MZR_BUILD_DIR:-$MZR_SRC_DIR/build}
CACHE=${MZR_KERNEL_CACHE:-/var/cache/mizar-kernels}
LABELS="unit pkt load"
TIMEOUT=600
KERNELS=()

# ---- In the guest: run the labels, print one result line each ----------
if [ "${1:-}" = "--guest" ]; then
	shift
	build=$1 labels=${2//,/ } timeout=$3
	# Whatever fails here, the guest must still report and power off.
	set +e +o pipefail
	mount -t proc proc /proc
	mount -t sysfs sys /sys
	mount -t devtmpfs dev /dev 2>/dev/null || true
	mkdir -p /dev/pts /dev/shm /run /tmp /sys/fs/bpf
	mount -t devpts devpts /dev/pts
	mount -t tmpfs tmpfs /dev/shm
	mount -t tmpfs tmpfs /run
	# No tmpfs on /tmp: the overlay root is writable already, and the
	# build under test may live in the host's /tmp (CI clones there).
	mount -t bpf bpf /sys/fs/bpf
	mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null || true
	ip link set lo up
	export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
	export HOME=/root
	echo "MZR-UPTIME $(cut -d' ' -f1 /proc/uptime)"
	cd "$build"
	for label in $labels; do
		start=$(date +%s)
		if [ "$label" = load ]; then
			# fuzz_core loads the core and the four example NFs
			# through libmizar: every program meets the verifier.
			if timeout "$timeout" tests/fuzz/fuzz_core --frames 2000 \
				--seed 1 >"/tmp/$label.log" 2>&1; then
				res="pass 1/1"
			else
				res="FAIL 0/1"
			fi
		else
			# man_completion checks docs and bash completion, not the
			# kernel (the minimal guest has no locale or man setup).
			timeout "$timeout" ctest -L "^$label\$" -E '^man_completion$' \
				--timeout "$timeout" \
				--output-on-failure >"/tmp/$label.log" 2>&1 || true
			sum=$(grep -E 'tests passed, [0-9]+ tests failed' \
				"/tmp/$label.log" | tail -1)
			if [ -z "$sum" ]; then
				res="FAIL (no ctest summary; timeout?)"
			else
				n=$(echo "$sum" | sed -E 's/.* out of ([0-9]+).*/\1/')
				f=$(echo "$sum" | sed -E 's/.*, ([0-9]+) tests failed.*/\1/')
				res="$( [ "$f" = 0 ] && echo pass || echo FAIL ) $((n - f))/$n"
			fi
		fi
		echo "MZR-RESULT $label $res $(( $(date +%s) - start ))s"
		if [ "${res%% *}" != pass ]; then
			echo "---- $label log (tail) ----"
			tail -n 60 "/tmp/$label.log"
			grep -E '^ *[0-9]+/[0-9]+ Test .*(Failed|Timeout|Exception)' \
				"/tmp/$label.log" || true
		fi
	done
	echo "MZR-DONE"
	sync
	echo o >/proc/sysrq-trigger
	sleep 30
	exit 0
fi

while getopts "k:l:t:h" opt; do
	case $opt in
	k) KERNELS+=("$OPTARG") ;;
	l) LABELS=$OPTARG ;;
	t) TIMEOUT=$OPTARG ;;
	*) sed -n '2,20p' "$0"; exit 2 ;;
	esac
done

if [ "${MZR_KERNEL_MATRIX:-1}" = 0 ]; then
	echo "SKIP: MZR_KERNEL_MATRIX=0"
	exit 77
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: kernel-matrix.sh needs root"
	exit 77
fi
if [ ! -x "$MZR_BUILD_DIR/tests/fuzz/fuzz_core" ]; then
	echo "no build in $MZR_BUILD_DIR: run scripts/test.sh (or cmake) first" >&2
	exit 1
fi
missing=()
command -v qemu-system-x86_64 >/dev/null || missing+=(qemu-system-x86)
command -v busybox >/dev/null || missing+=(busybox-static)
if [ ${#missing[@]} -gt 0 ]; then
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends "${missing[@]}" >/dev/null
fi
if [ ${#KERNELS[@]} -eq 0 ]; then
	KERNELS=("$(apt-cache depends linux-image-amd64 |
		sed -n 's/^ *Depends: \(linux-image-[0-9].*\)$/\1/p' | head -1)")
	if [ -z "${KERNELS[0]}" ]; then
		echo "SKIP: apt knows no linux-image-amd64 (run apt-get update)"
		exit 77
	fi
fi

# Modules the guest needs before its root exists, and for the tests.
BOOT_MODS="virtio_pci 9pnet_virtio 9p overlay"
TEST_MODS="veth sch_ingress cls_bpf"

# Unpack kernel package $1 under $CACHE/$1; prints that directory.
fetch_kernel() {
	local pkg=$1 dir=$CACHE/$1
	if [ ! -e "$dir/.done" ]; then
		mkdir -p "$dir"
		(cd "$dir" && apt-get download -q "$pkg" >/dev/null 2>&1) || {
			echo "SKIP: cannot download $pkg (no package mirror?)" >&2
			exit 77
		}
		dpkg-deb -x "$dir"/*.deb "$dir"
		rm -f "$dir"/*.deb
		touch "$dir/.done"
	fi
	echo "$dir"
}

# The initramfs: busybox, the modules above with their dependencies, and an
# init that mounts the host root read-only under a tmpfs overlay and runs
# this script's guest part there.
make_initrd() {
	local kdir=$1 ver=$2 out=$3 work m
	work=$(mktemp -d)
	mkdir -p "$work"/{bin,dev,proc,sys,lower,upper,newroot,mods}
	cp "$(command -v busybox)" "$work/bin/busybox"
	ln -s busybox "$work/bin/sh"
	[ -s "$kdir/lib/modules/$ver/modules.dep" ] ||
		busybox depmod -b "$kdir" "$ver"
	local all=""
	for m in $BOOT_MODS $TEST_MODS; do
		local path dep
		path=$(grep -E "(^|/)$m\.ko(\.xz|\.zst)?:" \
			"$kdir/lib/modules/$ver/modules.dep" | head -1) || true
		[ -n "$path" ] || continue
		for dep in ${path/:/}; do
			all="$all $dep"
		done
	done
	local i=0
	for m in $(echo "$all" | tr ' ' '\n' | awk 'NF && !s[$0]++'); do
		i=$((i + 1))
		case $m in
		*.xz) xz -dc "$kdir/lib/modules/$ver/$m" >"$work/mods/$i.ko" ;;
		*.zst) zstd -qdc "$kdir/lib/modules/$ver/$m" >"$work/mods/$i.ko" ;;
		*) cp "$kdir/lib/modules/$ver/$m" "$work/mods/$i.ko" ;;
		esac
	done
	cat >"$work/init" <<'EOF'
#!/bin/sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t devtmpfs dev /dev
# Dependencies first: retry until every module is in.
for pass in 1 2 3 4 5 6; do
	for m in /mods/*.ko; do
		[ -e "$m" ] || continue
		insmod "$m" 2>/dev/null && rm -f "$m"
	done
done
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose \
	hostroot /lower || { echo "MZR-BOOT-FAIL 9p"; poweroff -f; }
mount -t tmpfs -o size=3g tmpfs /upper
mkdir -p /upper/u /upper/w
mount -t overlay overlay \
	-o lowerdir=/lower,upperdir=/upper/u,workdir=/upper/w /newroot ||
	{ echo "MZR-BOOT-FAIL overlay"; poweroff -f; }
cmd=$(sed -n 's/.*mzr_cmd=\([^ ]*\).*/\1/p' /proc/cmdline | tr '+' ' ')
umount /proc
exec switch_root /newroot /bin/bash $cmd
EOF
	chmod +x "$work/init"
	(cd "$work" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1 >"$out")
	rm -rf "$work"
}

# Software emulation by default: the paravirtual /dev/kvm of some hosts
# (this project's CI machines) does not boot stock kernels.
ACCEL=${MZR_QEMU_ACCEL:-tcg}
declare -A RESULT
for pkg in "${KERNELS[@]}"; do
	kdir=$(fetch_kernel "$pkg")
	ver=$(ls "$kdir/lib/modules" | head -1)
	initrd=$(mktemp /tmp/mzr-initrd.XXXXXX)
	log=$(mktemp /tmp/mzr-kernel-$ver.XXXXXX.log)
	make_initrd "$kdir" "$ver" "$initrd"
	cmd="$MZR_SRC_DIR/scripts/kernel-matrix.sh+--guest+$MZR_BUILD_DIR+$(echo "$LABELS" | tr ' ' ',')+$TIMEOUT"
	nlabels=$(echo "$LABELS" | wc -w)
	echo "== $ver ($pkg): booting with $ACCEL, log $log"
	start=$(date +%s)
	timeout $((TIMEOUT * nlabels + 600)) qemu-system-x86_64 \
		-accel "$ACCEL" -m 3072 -smp "$(nproc)" -nographic -no-reboot \
		-kernel "$kdir/boot/vmlinuz-$ver" -initrd "$initrd" \
		-append "console=ttyS0 panic=-1 quiet loglevel=3 mzr_cmd=$cmd" \
		-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
		</dev/null >"$log" 2>&1 || true
	rm -f "$initrd"
	echo "   $(( $(date +%s) - start )) s;" \
		"$(grep -ao 'MZR-UPTIME [0-9.]*' "$log" | head -1)"
	for label in $LABELS; do
		r=$(grep -a "^MZR-RESULT $label " "$log" | tail -1 | tr -d '\r' |
			cut -d' ' -f3-)
		RESULT[$ver/$label]=${r:-"no result (boot failed?)"}
		echo "   $label: ${RESULT[$ver/$label]}"
	done
	grep -aq MZR-DONE "$log" || tail -n 40 "$log"
	# What failed, from the guest's ctest output.
	grep -a -E 'Test +#.*(Failed|Timeout|Exception)|^(setup failed|FAIL)' \
		"$log" | tr -d '\r' | sort -u | sed 's/^/   /' || true
	VERS+=("$ver")
done

printf '\n%-22s' kernel
for label in $LABELS; do printf ' %-22s' "$label"; done
printf '\n'
fail=0
for ver in "${VERS[@]}"; do
	printf '%-22s' "$ver"
	for label in $LABELS; do
		r=${RESULT[$ver/$label]}
		printf ' %-22s' "$r"
		[ "${r%% *}" = pass ] || fail=1
	done
	printf '\n'
done
exit $fail
