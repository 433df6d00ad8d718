# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The core's hooks for NAT: the divider hook for packets leaving the VPC
# (role external), and the external hook's INJECT of plain IPv4 frames.
mizar_add_bpf_object(pkt_nat_hook_nf SOURCE ${PKTB}/nat_hook_nf.bpf.c)
mzr_core_pkt_test(test_core_nat_hooks test_core_nat_hooks.c)
add_dependencies(test_core_nat_hooks pkt_nat_hook_nf)
