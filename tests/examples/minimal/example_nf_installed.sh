#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# An NF author's path, end to end: install the SDK into a fresh prefix,
# build examples/minimal-nf out of tree with find_package(mizar) and the
# installed mizar_add_bpf_object(), insert the object with `mizarctl nf add`
# and see it count the VPC's packets while pings flow through its hook.
set -u -o pipefail
# shellcheck source=../../../scripts/lib/topo.sh
. "${MZR_SOURCE_DIR:-$(cd "$(dirname "$0")/../../.." && pwd)}/scripts/lib/topo.sh"
topo_require_root
topo_require_tools bpftool jq cmake

topo_step "install the SDK and build the example NF out of tree"
topo_init
prefix=$TOPO_TMP/prefix
nfbuild=$TOPO_TMP/minimal-nf
cmake --install "$MZR_BUILD_DIR" --prefix "$prefix" >"$TOPO_TMP/install.log" 2>&1 ||
	topo_die "cmake --install failed: $(tail -3 "$TOPO_TMP/install.log")"
# A copy of the example, so nothing can reach back into the source tree.
cp -r "$MZR_SOURCE_DIR/examples/minimal-nf" "$TOPO_TMP/src"
if cmake -S "$TOPO_TMP/src" -B "$nfbuild" -DCMAKE_PREFIX_PATH="$prefix" \
	>"$TOPO_TMP/nf.log" 2>&1 && cmake --build "$nfbuild" >>"$TOPO_TMP/nf.log" 2>&1; then
	topo_ok "minimal_nf.bpf.o built with the installed SDK"
else
	cat "$TOPO_TMP/nf.log"
	topo_die "out-of-tree build of examples/minimal-nf failed"
fi
obj=$nfbuild/minimal_nf.bpf.o
grep -q -- "-I$prefix/include" "$nfbuild/CMakeFiles/minimal_nf.dir/build.make" \
	"$nfbuild"/CMakeFiles/*.dir/build.make 2>/dev/null ||
	grep -rq -- "$prefix/include" "$nfbuild/CMakeFiles" &&
	topo_ok "compiled against $prefix/include" ||
	topo_fail "the build did not use the installed headers"

topo_step "setup: a@h1, b@h2, bouncer h3; the NF at h1's agent-egress"
for h in h1 h2 h3; do topo_host_add $h; done
topo_vpc_add 100
topo_net_add 100 10.0.1.0/24 h3
topo_ep_add a h1 100 10.0.1.2/24
topo_ep_add b h2 100 10.0.1.3/24
topo_ctl h1 nf add count obj "$obj" hook agent-egress &&
	topo_ok "mizarctl nf add count obj minimal_nf.bpf.o hook agent-egress" ||
	topo_die "nf add failed"

topo_step "pings from a pass through the NF, which counts them for VNI 100"
expect_ping a 10.0.1.3
prog_id=$(topo_ctl h1 --json nf show | jq -r '.nfs[] | select(.name == "count") | .prog_id')
[ -n "$prog_id" ] && [ "$prog_id" != null ] || topo_die "nf show does not list 'count'"
map_id=""
for id in $(bpftool -j prog show id "$prog_id" | jq -r '.map_ids[]'); do
	[ "$(bpftool -j map show id "$id" | jq -r .name)" = minimal_nf_pkts ] && map_id=$id
done
[ -n "$map_id" ] || topo_die "the NF's counter map is not found"
# Key 100 (VNI), little-endian. The value is per CPU, printed as arrays of
# hex bytes (little-endian u64): decode each and sum them.
count=$(bpftool -j map lookup id "$map_id" key 100 0 0 0 2>/dev/null | jq '
	def byte: ltrimstr("0x") | ascii_downcase | explode |
		map(if . >= 97 then . - 87 else . - 48 end) |
		reduce .[] as $d (0; . * 16 + $d);
	[.values[].value | map(byte) | reverse |
		reduce .[] as $b (0; . * 256 + $b)] | add' 2>/dev/null)
[ -n "$count" ] && [ "$count" -gt 0 ] &&
	topo_ok "the NF counted $count packets of VNI 100" ||
	topo_fail "the NF counted nothing for VNI 100 ('$count')"
expect_counter_gt h1 nf_run

topo_step "nf del: traffic flows without it"
topo_ctl h1 nf del count && topo_ok "nf del count" || topo_fail "nf del count"
expect_ping a 10.0.1.3

topo_finish
