#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# Which libmizar source file calls which other file's private (non-static)
# functions, from the symbol tables of the built objects, and whether
# those calls form a circle (tsort reports a loop).
#
# usage: scripts/lib-layers.sh [BUILD_DIR]   (default: build)
# Prints "caller.c -> callee.c" edges; exits 1 when there is a circle.
set -euo pipefail

objdir=${1:-build}/libmizar/CMakeFiles/mizar_objs.dir
[ -d "$objdir" ] || { echo "no objects under $objdir (build first)" >&2; exit 2; }

declare -A owner
for o in "$objdir"/*.o; do
	f=$(basename "$o" .o)
	while read -r _ _ sym; do
		owner[$sym]=$f
	done < <(nm --defined-only -g "$o" | awk 'NF == 3 && $2 ~ /[TDRB]/')
done

edges=$(for o in "$objdir"/*.o; do
	f=$(basename "$o" .o)
	nm -u "$o" | awk '{print $NF}' | while read -r sym; do
		callee=${owner[$sym]:-}
		# Exported API (mzr_*) calls between files are not private.
		case $sym in mzri_*) ;; *) continue ;; esac
		[ -n "$callee" ] && [ "$callee" != "$f" ] && echo "$f $callee"
	done
done | sort -u)

echo "$edges" | awk 'NF == 2 {print $1 " -> " $2}'
# tsort wants "before after": a callee before its caller.
loops=$(echo "$edges" | awk 'NF == 2 {print $2, $1}' | tsort 2>&1 >/dev/null ||
	true)
if [ -n "$loops" ]; then
	echo "$loops"
	echo "lib-layers: circle of private calls" >&2
	exit 1
fi
echo "lib-layers: no circle"
