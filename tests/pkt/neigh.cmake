# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Unresolved underlay neighbours: the XDP hand-off (metadata), the tc
# program mzr_neigh, live neighbour resolution on veths, and the library's
# tc attach/detach.
mzr_core_pkt_test(test_core_neigh test_core_neigh.c)
# The next-hop cache: neighbour and route changes followed after its age,
# unresolved neighbours never cached, emptied by host attach.
mzr_core_pkt_test(test_core_nexthop test_core_nexthop.c)
# Learning's per-CPU level 1: a confirmed sender skips mzr_direct for a
# second, a moved one is learned at once.
mzr_core_pkt_test(test_core_learn test_core_learn.c)
