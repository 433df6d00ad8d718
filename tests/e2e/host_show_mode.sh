#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# host show says where the transit runs (xdp or tc, text and --json), and
# on a veth underlay with the default native XDP transit it points at
# `mode tc` in one hint line on stdout (docs/performance.md: XDP on a veth
# cuts super-packets); a tc host gets no hint. The default mode stays
# native (CONTRACT.md).
set -u -o pipefail
# shellcheck source=../../scripts/lib/topo.sh
. "${MZR_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/scripts/lib/topo.sh"
topo_require_root
topo_require_tools jq
unset TOPO_TRANSIT # h1 takes the default mode, h2 asks for tc
topo_init
topo_host_add h1
topo_host_add h2 noinit
topo_ctl h2 host init dev ul0 mode tc >/dev/null || topo_die "host init mode tc on h2"
TOPO_HOST_INIT[h2]=1

topo_step "h1: veth underlay, default mode (native XDP): transit xdp and one hint"
out=$(topo_ctl h1 host show) || topo_die "host show on h1"
if grep -qx 'xdp mode   native' <<<"$out" &&
	grep -qx 'transit    xdp' <<<"$out"; then
	topo_ok "host show: xdp mode native, transit xdp"
else
	topo_fail "host show on h1 has no 'transit    xdp' line: $(tr '\n' '|' <<<"$out")"
fi
hints=$(grep -c '^hint ' <<<"$out")
if [ "$hints" = 1 ] && grep '^hint ' <<<"$out" | grep -q 'ul0 is a veth' &&
	grep '^hint ' <<<"$out" | grep -q 'host init dev ul0 mode tc'; then
	topo_ok "one hint line: $(grep '^hint ' <<<"$out")"
else
	topo_fail "h1 wants one hint line naming 'host init dev ul0 mode tc', got $hints: $(tr '\n' '|' <<<"$out")"
fi
if grep -q '^libbpf: ' <<<"$out"; then
	topo_fail "a libbpf line on host show's stdout: $(grep '^libbpf: ' <<<"$out" | head -1)"
else
	topo_ok "no libbpf line on stdout"
fi
js=$(topo_ctl h1 --json host show) || topo_die "host show --json on h1"
if [ "$(jq -r .transit <<<"$js")" = xdp ] &&
	[ "$(jq -r .mode <<<"$js")" = native ] &&
	jq -er '.hint | test("mode tc")' <<<"$js" >/dev/null; then
	topo_ok "--json: transit xdp, mode native, hint names mode tc"
else
	topo_fail "--json on h1: transit $(jq -c .transit <<<"$js"), hint $(jq -c .hint <<<"$js")"
fi

topo_step "h2: mode tc: transit tc, no hint"
out=$(topo_ctl h2 host show) || topo_die "host show on h2"
if grep -qx 'transit    tc' <<<"$out" && ! grep -q '^hint ' <<<"$out"; then
	topo_ok "host show: transit tc, no hint"
else
	topo_fail "host show on h2: $(tr '\n' '|' <<<"$out")"
fi
js=$(topo_ctl h2 --json host show) || topo_die "host show --json on h2"
if [ "$(jq -r .transit <<<"$js")" = tc ] && [ "$(jq -c .hint <<<"$js")" = null ]; then
	topo_ok "--json: transit tc, hint null"
else
	topo_fail "--json on h2: transit $(jq -c .transit <<<"$js"), hint $(jq -c .hint <<<"$js")"
fi
topo_finish
