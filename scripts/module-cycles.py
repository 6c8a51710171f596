#!/usr/bin/env python3
"""Fails when two files of one crate use each other (a file-level import cycle).

Follows `crate::…` and `super::…` paths in code (comments and `#[cfg(test)]` modules left out)
to the file that defines the module; a parent module and its own child may refer to each other.
Usage: module-cycles.py <crate dir>…  (default: every crate under functions/ and shared/).
"""
import os
import re
import sys

PATH = re.compile(r"\b(crate|super)((?:::[a-z_][a-z0-9_]*)+)")


def module_of(src, path):
    rel = os.path.relpath(path, src)[:-3].split(os.sep)
    return rel[:-1] if rel[-1] in ("mod", "lib", "main") else rel


def file_of(src, parts):
    for k in range(len(parts), 0, -1):
        base = os.path.join(src, *parts[:k])
        for candidate in (base + ".rs", os.path.join(base, "mod.rs")):
            if os.path.exists(candidate):
                return candidate
    return None


def code_of(path):
    text = open(path, encoding="utf-8").read().split("#[cfg(test)]")[0]
    return "\n".join(line.split("//")[0] for line in text.splitlines())


def cycles(crate):
    src = os.path.join(crate, "src")
    files = [os.path.join(d, f) for d, _, fs in os.walk(src) for f in fs if f.endswith(".rs")]
    uses = {}
    for path in files:
        me = module_of(src, path)
        targets = set()
        for m in PATH.finditer(code_of(path)):
            parts = m.group(2).strip(":").split("::")
            if m.group(1) == "super":
                parts = me[:-1] + parts
            target = file_of(src, parts)
            if target and target != path:
                targets.add(target)
        uses[path] = targets

    def related(a, b):
        ma, mb = module_of(src, a), module_of(src, b)
        return ma == mb[: len(ma)] or mb == ma[: len(mb)]

    return sorted(
        {tuple(sorted((a, b))) for a in files for b in uses[a] if a in uses.get(b, ()) and not related(a, b)}
    )


def main():
    crates = sys.argv[1:] or sorted(
        os.path.join(top, d)
        for top in ("functions", "shared")
        for d in os.listdir(top)
        if os.path.isdir(os.path.join(top, d, "src"))
    )
    found = [(crate, pair) for crate in crates for pair in cycles(crate)]
    for crate, (a, b) in found:
        print(f"import cycle in {crate}: {a} <-> {b}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
