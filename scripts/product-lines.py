#!/usr/bin/env python3
"""Counts the product's Rust lines: every .rs file under functions/*/src and shared/*/src, less
test code (files named tests.rs or *_tests.rs, files of `#[cfg(test)] mod x;` declarations, and
inline `#[cfg(test)] mod x { ... }` blocks).

Usage: scripts/product-lines.py [DIR] [-v]   (-v lists the largest files first; TOP=N sets how many)
"""
import os
import re
import sys
from pathlib import Path

CFG_TEST = re.compile(r"^\s*#\[cfg\((test|all\(test.*)\)\]\s*$")
MOD_DECL = re.compile(r"^\s*(pub(\([^)]*\))?\s+)?mod\s+(\w+)\s*;")
MOD_OPEN = re.compile(r"^\s*(pub(\([^)]*\))?\s+)?mod\s+(\w+)\s*\{")
PATH_ATTR = re.compile(r'^\s*#\[path\s*=\s*"([^"]+)"\]')


def source_files(root):
    for top in ("functions", "shared"):
        for crate in sorted((root / top).iterdir()):
            if (crate / "src").is_dir():
                yield from sorted((crate / "src").rglob("*.rs"))


def attributes_end(lines, start):
    """The index of the first line at or after `start` that is not an attribute."""
    while start < len(lines) and lines[start].strip().startswith("#["):
        start += 1
    return start


def test_module_files(path, lines):
    """The files that `#[cfg(test)] mod x;` declarations in `path` name."""
    module_dir = path.parent if path.name in ("mod.rs", "lib.rs", "main.rs") else path.parent / path.stem
    found = set()
    for i, line in enumerate(lines):
        if not CFG_TEST.match(line):
            continue
        custom = None
        for attribute in lines[i + 1 : attributes_end(lines, i + 1)]:
            match = PATH_ATTR.match(attribute)
            if match:
                custom = path.parent / match.group(1)
        j = attributes_end(lines, i + 1)
        match = MOD_DECL.match(lines[j]) if j < len(lines) else None
        if match and custom:
            found.add(custom.resolve())
        elif match:
            found.add((module_dir / f"{match.group(3)}.rs").resolve())
            found.add((module_dir / match.group(3) / "mod.rs").resolve())
    return found


def lines_without_inline_tests(lines):
    count, i = 0, 0
    while i < len(lines):
        j = attributes_end(lines, i + 1)
        if CFG_TEST.match(lines[i]) and j < len(lines) and MOD_OPEN.match(lines[j]):
            depth = 0
            while j < len(lines):
                depth += lines[j].count("{") - lines[j].count("}")
                if depth <= 0 and "}" in lines[j]:
                    break
                j += 1
            i = j + 1
            continue
        count += 1
        i += 1
    return count


def is_test_file(path, root):
    if path.name == "tests.rs" or path.name.endswith("_tests.rs"):
        return True
    return "tests" in path.relative_to(root).parts[3:-1]


def main():
    args = [a for a in sys.argv[1:] if a != "-v"]
    root = Path(args[0] if args else ".").resolve()
    files = list(source_files(root))
    texts = {f: f.read_text().splitlines() for f in files}
    test_only = set()
    for f in files:
        test_only |= test_module_files(f, texts[f])
    test_dirs = [e.parent for e in test_only if e.name == "mod.rs"]
    counted = []
    for f in files:
        r = f.resolve()
        if r in test_only or any(d in r.parents for d in test_dirs) or is_test_file(f, root):
            continue
        counted.append((lines_without_inline_tests(texts[f]), str(f.relative_to(root))))
    if "-v" in sys.argv:
        for count, name in sorted(counted, reverse=True)[: int(os.environ.get("TOP", "40"))]:
            print(f"{count:6} {name}")
    print(sum(count for count, _ in counted))


if __name__ == "__main__":
    main()
