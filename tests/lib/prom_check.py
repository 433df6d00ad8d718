#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Strict check of a Prometheus text exposition (format 0.0.4) on stdin.

A second opinion next to `promtool check metrics` (which, for one, accepts
an empty input): every line is a HELP, a TYPE or a sample; each family has
HELP and TYPE before its samples and appears in one block; counters end in
_total; names and labels follow the data model; label values are properly
quoted and escaped; no series appears twice; values are numbers.
Exit 0 when the input is valid and holds at least one sample; otherwise
print one line per problem and exit 1.
"""
import re
import sys

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r"[a-zA-Z_][a-zA-Z0-9_]*"
VALUE = r'"(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(
    rf"^({NAME})(?:\{{((?:{LABEL}={VALUE})(?:,{LABEL}={VALUE})*,?)?\}})?"
    r" ([^ ]+)(?: (-?\d+))?$")
PAIR = re.compile(rf"({LABEL})=({VALUE})")
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


def main():
    errs = []
    helps, types, done, series = {}, {}, set(), set()
    current = None
    samples = 0
    for n, line in enumerate(sys.stdin.read().split("\n"), 1):
        if line == "":
            continue

        def err(msg):
            errs.append(f"line {n}: {msg}: {line!r}")

        if line.startswith("#"):
            m = re.match(rf"^# (HELP|TYPE) ({NAME}) (.*)$", line)
            if not m:
                if line.startswith("# HELP") or line.startswith("# TYPE"):
                    err("malformed HELP/TYPE")
                continue
            kind, name, rest = m.groups()
            if name in done and name != current:
                err(f"family {name} split in two blocks")
            if current and current != name:
                done.add(current)
            current = name
            table = helps if kind == "HELP" else types
            if name in table:
                err(f"second {kind} for {name}")
            if kind == "TYPE" and rest not in TYPES:
                err(f"unknown type {rest}")
            if kind == "HELP" and not rest.strip():
                err("empty HELP")
            table[name] = rest
            continue
        m = SAMPLE.match(line)
        if not m:
            err("not a sample")
            continue
        name, labels, value, _ts = m.groups()
        if name != current:
            err(f"sample of {name} outside its family's block")
        if name not in types or name not in helps:
            err(f"{name} has no HELP/TYPE before its samples")
        if types.get(name) == "counter" and not name.endswith("_total"):
            err("counter name without _total")
        try:
            v = float(value)
        except ValueError:
            err("value is not a number")
            continue
        if types.get(name) == "counter" and v < 0:
            err("negative counter")
        pairs = PAIR.findall(labels or "")
        keys = [k for k, _ in pairs]
        if len(set(keys)) != len(keys):
            err("label repeated")
        if any(k.startswith("__") for k in keys):
            err("reserved label name")
        key = (name, tuple(sorted(pairs)))
        if key in series:
            err("series repeated")
        series.add(key)
        samples += 1
    if not samples:
        errs.append("no sample at all")
    for e in errs:
        print(f"prom_check: {e}")
    return 1 if errs else 0


if __name__ == "__main__":
    sys.exit(main())
