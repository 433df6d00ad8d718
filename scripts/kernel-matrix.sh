#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The kernel matrix: boot Debian's own kernel packages in qemu over this
# machine's root filesystem (9p, read-only, with a tmpfs overlay on top)
# and run test labels of an already built tree there. Prints a table
# kernel x label.
#
#   scripts/kernel-matrix.sh [-k PACKAGE]... [-l LABELS] [-t SECONDS]
#
#   -k  a kernel image package, "6.1" (linux-image-amd64's dependency,
#       Debian 12's default), "6.12" (the newest linux-image-6.12.*+deb12
#       of bookworm-security) or "running" (this machine's kernel, no
#       qemu); repeat for several rows (default: 6.1, 6.12 and running)
#   -l  ctest labels, space separated (default "unit pkt"), plus "load":
#       the fuzzer's verifier load of the core and every example NF
#   -t  timeout of each label in the guest, seconds (default 900)
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
TIMEOUT=900
KERNELS=()

# run_labels BUILD LABELS TIMEOUT LOGDIR: run each label (ctest, or
# "load") in BUILD and print one "MZR-RESULT label result seconds" line
# each, with the failing log's tail.
run_labels() {
	local build=$1 labels=$2 timeout=$3 logs=$4 label start res sum n f
	cd "$build" || return 1
	for label in $labels; do
		start=$(date +%s)
		if [ "$label" = load ]; then
			# fuzz_core loads the core and the four example NFs
			# through libmizar: every program meets the verifier.
			if timeout "$timeout" tests/fuzz/fuzz_core --frames 2000 \
				--seed 1 >"$logs/$label.log" 2>&1; then
				res="pass 1/1"
			else
				res="FAIL 0/1"
			fi
		else
			# man_completion checks docs and bash completion, not the
			# kernel (the minimal guest has no locale or man setup).
			timeout "$timeout" ctest -L "^$label\$" -E '^man_completion$' \
				--timeout "$timeout" \
				--output-on-failure >"$logs/$label.log" 2>&1 || true
			sum=$(grep -E 'tests passed, [0-9]+ tests failed' \
				"$logs/$label.log" | tail -1)
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
			tail -n 60 "$logs/$label.log"
			grep -E '^ *[0-9]+/[0-9]+ Test .*(Failed|Timeout|Exception)' \
				"$logs/$label.log" || true
		fi
	done
}

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
	run_labels "$build" "$labels" "$timeout" /tmp
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
# Debian 12's kernels: its default (6.1, the README's floor) and the
# newest 6.12 that bookworm-security ships (linux-6.12, the kernel of
# Debian 12's later point releases and of bookworm-backports).
kernel_61() {
	apt-cache depends linux-image-amd64 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9].*\)$/\1/p' | head -1
}
kernel_612() {
	apt-cache search --names-only \
		'^linux-image-6\.12\.[0-9]+\+deb12-amd64-unsigned$' 2>/dev/null |
		cut -d' ' -f1 | sort -V | tail -1
}
if [ ${#KERNELS[@]} -eq 0 ]; then
	KERNELS=(6.1 6.12 running)
fi
for i in "${!KERNELS[@]}"; do
	case ${KERNELS[$i]} in
	6.1) KERNELS[$i]=$(kernel_61) ;;
	6.12) KERNELS[$i]=$(kernel_612) ;;
	esac
	if [ -z "${KERNELS[$i]}" ]; then
		echo "SKIP: apt knows no Debian 12 kernel package (run apt-get update)"
		exit 77
	fi
done

# Modules the guest needs before its root exists, and for the tests.
BOOT_MODS="virtio_pci 9pnet_virtio 9p overlay"
TEST_MODS="veth sch_ingress cls_bpf"

# Unpack kernel package $1 under $CACHE/$1; prints that directory.
fetch_kernel() {
	local pkg=$1 dir=$CACHE/$1
	if [ ! -e "$dir/.done" ]; then
		mkdir -p "$dir"
		(cd "$dir" && apt-get download -q "$pkg" >/dev/null 2>&1) || {
			echo "cannot download $pkg (no package mirror?)" >&2
			rm -rf "$dir"
			return 1
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
VERS=()
NOPKG=0
for pkg in "${KERNELS[@]}"; do
	if [ "$pkg" = running ]; then
		# This machine's kernel, without qemu: the same labels here.
		ver="$(uname -r) (running)"
		echo "== $ver"
		log=$(mktemp -d /tmp/mzr-kernel-running.XXXXXX)
		(set +e +o pipefail
		 run_labels "$MZR_BUILD_DIR" "$LABELS" "$TIMEOUT" "$log") \
			>"$log/all.log" 2>&1
		for label in $LABELS; do
			r=$(grep -a "^MZR-RESULT $label " "$log/all.log" |
				tail -1 | cut -d' ' -f3-)
			RESULT[$ver/$label]=${r:-"no result"}
			echo "   $label: ${RESULT[$ver/$label]}"
		done
		grep -a -E 'Test +#.*(Failed|Timeout|Exception)' "$log/all.log" |
			sort -u | sed 's/^/   /' || true
		rm -rf "$log"
		VERS+=("$ver")
		continue
	fi
	if ! kdir=$(fetch_kernel "$pkg"); then
		NOPKG=$((NOPKG + 1))
		continue
	fi
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

printf '\n%-28s' kernel
for label in $LABELS; do printf ' %-22s' "$label"; done
printf '\n'
fail=0
for ver in "${VERS[@]}"; do
	printf '%-28s' "$ver"
	for label in $LABELS; do
		r=${RESULT[$ver/$label]}
		printf ' %-22s' "$r"
		[ "${r%% *}" = pass ] || fail=1
	done
	printf '\n'
done
if [ "$NOPKG" -gt 0 ] && [ ${#VERS[@]} -le 1 ]; then
	# No Debian kernel could be had: no matrix (the running row alone is
	# the rest of the suite's job).
	echo "SKIP: no kernel package could be downloaded"
	exit 77
fi
exit $fail
