#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# The library's ABI has one source of truth per fact and they must agree:
# the MZR_API declarations of include/mizar/*.h (what users may call), the
# version nodes of libmizar/libmizar.map (what each release exports) and
# `nm -D` of the built libmizar.so (what is exported). A function declared
# but not listed, listed but not built, or exported in another node than
# the map says fails here, as does a wildcard in a global section.
set -euo pipefail

src=${MZR_SOURCE_DIR:?}
lib=${MZR_BUILD_DIR:?}/libmizar/libmizar.so
[ -e "$lib" ] || { echo "FAIL: $lib not built"; exit 1; }

python3 - "$src" "$lib" <<'PY'
import re, subprocess, sys, glob

src, lib = sys.argv[1], sys.argv[2]
fail = []

# Version script: node -> symbols of its global section.
text = re.sub(r'/\*.*?\*/', '', open(src + '/libmizar/libmizar.map').read(),
              flags=re.S)
nodes = {}
for m in re.finditer(r'([\w.]+)\s*\{(.*?)\}\s*([\w.]*)\s*;', text, re.S):
    name, body = m.group(1), m.group(2)
    glob_part = re.split(r'\blocal\s*:', body)[0]
    glob_part = re.sub(r'\bglobal\s*:', '', glob_part)
    syms = [s.strip() for s in glob_part.split(';') if s.strip()]
    for s in syms:
        if not re.fullmatch(r'mzr_[a-z0-9_]+', s):
            fail.append('map node %s: "%s" is not one mzr_ name' % (name, s))
    nodes[name] = syms
mapped = {}
for node, syms in nodes.items():
    for s in syms:
        if s in mapped:
            fail.append('%s listed in %s and %s' % (s, mapped[s], node))
        mapped[s] = node

# Public headers: every MZR_API function.
declared = set()
for h in glob.glob(src + '/include/mizar/*.h'):
    body = re.sub(r'/\*.*?\*/', '', open(h).read(), flags=re.S)
    for m in re.finditer(r'\bMZR_API\b[^;{(]*?\b(mzr_\w+)\s*\(', body):
        declared.add(m.group(1))

# The built library.
out = subprocess.run(['nm', '-D', '--defined-only', lib], check=True,
                     capture_output=True, text=True).stdout
exported = {}
for line in out.splitlines():
    f = line.split()
    if len(f) < 3 or f[1] == 'A':
        continue
    name, _, ver = f[2].partition('@@')
    exported[name] = ver

for s in sorted(declared - set(mapped)):
    fail.append('%s is declared MZR_API but not in libmizar.map' % s)
for s in sorted(set(mapped) - declared):
    fail.append('%s is in libmizar.map but declared in no public header' % s)
for s in sorted(set(mapped) - set(exported)):
    fail.append('%s is in libmizar.map but not exported' % s)
for s, ver in sorted(exported.items()):
    if s not in mapped:
        fail.append('%s is exported but not in libmizar.map' % s)
    elif ver != mapped[s]:
        fail.append('%s is exported as %s, the map says %s' % (s, ver, mapped[s]))

for f in fail:
    print('FAIL:', f)
print('%d symbols in %d version nodes (%s); headers, map and nm -D agree'
      % (len(mapped), len(nodes), ', '.join(nodes)) if not fail else
      '%d ABI mismatches' % len(fail))
sys.exit(1 if fail else 0)
PY
