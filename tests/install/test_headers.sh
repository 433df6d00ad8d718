#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Every public header compiles on its own: userspace headers as C11 and as
# C++ (gcc, -Wall -Wextra -Werror), BPF-side headers with clang -target bpf.
set -euo pipefail

src=${MZR_SOURCE_DIR:?MZR_SOURCE_DIR not set}
work=$(mktemp -d /tmp/mzr-headers.XXXXXX)
trap 'rm -rf "$work"' EXIT
arch_inc=/usr/include/$(gcc -print-multiarch)
failures=0
count=0

cd "$src/include"
for h in mizar/*.h; do
	printf '#include <%s>\n#include <%s>\nint main(void) { return 0; }\n' \
		"$h" "$h" >"$work/t.c"
	cp "$work/t.c" "$work/t.cpp"
	count=$((count + 1))
	gcc -std=c11 -Wall -Wextra -Werror -I"$src/include" \
		-c "$work/t.c" -o /dev/null 2>"$work/err" ||
		{ echo "FAIL (C11): $h"; cat "$work/err"; failures=$((failures + 1)); }
	g++ -std=c++17 -Wall -Wextra -Werror -I"$src/include" \
		-c "$work/t.cpp" -o /dev/null 2>"$work/err" ||
		{ echo "FAIL (C++): $h"; cat "$work/err"; failures=$((failures + 1)); }
done
for h in mizar/bpf/*.h; do
	[ -e "$h" ] || continue
	printf '#include <linux/bpf.h>\n#include <%s>\n#include <%s>\nchar _license[] __attribute__((section("license"), used)) = "GPL";\n' \
		"$h" "$h" >"$work/b.c"
	count=$((count + 1))
	clang -target bpf -O2 -Wall -Wextra -Werror -Wno-unused-function \
		-I"$src/include" -idirafter "$arch_inc" -c "$work/b.c" \
		-o /dev/null 2>"$work/err" ||
		{ echo "FAIL (bpf): $h"; cat "$work/err"; failures=$((failures + 1)); }
done
echo "headers_standalone: $count headers, $failures failure(s)"
[ "$failures" -eq 0 ]
