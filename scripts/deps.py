#!/usr/bin/env python3
"""The crate's module graph, from its `use` lines and `crate::`/`super::` paths.

    scripts/deps.py [--depth N] [--cycles] [SRC]

Prints one edge per line, `from -> to (uses)`, between modules cut to N path
segments (default 1: `cli`, `core`, `aws`, `support`, ...; 2 gives
`aws::device`, `core::helper`, ...). A path is followed through the re-exports
it names (`pub use token::SdkTokenSource` in aws/mod.rs makes a use of
`aws::SdkTokenSource` an edge to `aws::token`), so a crate-root alias cannot
hide where a module lives. A module's uses of its own parent (or child) are
not edges: Rust's `mod` tree makes those run both ways.

With --cycles it prints the import circles instead (modules that reach each
other), and exits 1 if there is one. SRC defaults to the crate's src/.
Inline `mod tests { ... }` blocks count as their file's module.
"""

import argparse
import re
import sys
from pathlib import Path

USE = re.compile(r"(?<![\w$])(pub(?:\([^)]*\))?\s+)?use\s+([^;]+);", re.S)
PATH = re.compile(r"(?<![\w$:])((?:crate|super|self)(?:::\w+)+)")
INLINE_MOD = re.compile(r"^\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+(\w+)\s*\{")


def module_of(src, f):
    parts = list(f.relative_to(src).with_suffix("").parts)
    if parts in (["lib"], ["main"]):
        return ()
    if parts[-1] == "mod":
        parts.pop()
    return tuple(parts)


def expand(tree):
    """`a::{b, c::{d, e as f}}` -> [(segments, name bound)], one per leaf."""
    tree = re.sub(r"\s+", " ", tree).strip()
    tree = re.sub(r"\s*(::|\{|\}|,)\s*", r"\1", tree)
    cut = tree.find("{")
    if cut < 0:
        path, _, alias = tree.partition(" as ")
        segs = [s for s in path.split("::") if s]
        if segs and segs[-1] == "self":
            segs.pop()
        return [(segs, alias or (segs[-1] if segs else ""))]
    prefix = [s for s in tree[:cut].split("::") if s]
    inner, items, depth, start = tree[cut + 1 : -1], [], 0, 0
    for i, ch in enumerate(inner + ","):
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif ch == "," and depth == 0:
            if inner[start:i]:
                items.append(inner[start:i])
            start = i + 1
    return [(prefix + segs, name) for item in items for segs, name in expand(item)]


def load(src):
    files = {}
    for f in sorted(src.rglob("*.rs")):
        if f.name == "main.rs" and f.parent == src:
            continue
        text = f.read_text()
        lines, inline = [], []
        for line in text.splitlines():
            if line.lstrip().startswith("//"):
                line = ""
            m = INLINE_MOD.match(line)
            if m:
                inline.append(len(lines))
            lines.append(line)
        files[f] = (module_of(src, f), "\n".join(lines), inline[0] if inline else None)
    return files


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--depth", type=int, default=1, help="path segments a module is cut to")
    ap.add_argument("--cycles", action="store_true", help="print the circles; exit 1 if any")
    here = Path(__file__).resolve().parent.parent / "src"
    ap.add_argument("src", nargs="?", default=str(here), help="the crate's src/ (default: ours)")
    args = ap.parse_args()
    src = Path(args.src)
    files = load(src)
    modules = {m for m, _, _ in files.values()}
    reexports = {}
    for mod, text, _ in files.values():
        for m in USE.finditer(text):
            if m.group(1):
                for segs, name in expand(m.group(2)):
                    reexports[(mod, name)] = (mod, segs)

    def follow(mod, name, rest, seen):
        rmod, rsegs = reexports[(mod, name)]
        return resolve(rmod, rsegs + rest, seen + 1)

    def resolve(base, segs, seen=0):
        """The module `segs` (a path used in `base`) lands in; None: another crate."""
        if not segs or seen > 20:
            return None
        head, rest = segs[0], segs[1:]
        if head == "crate":
            cur = ()
        elif head == "super":
            cur = base[:-1]
        elif head == "self":
            cur = base
        elif base + (head,) in modules:
            cur = base + (head,)
        elif (base, head) in reexports:
            return follow(base, head, rest, seen)
        else:
            return None
        while rest:
            if rest[0] == "super":
                cur, rest = cur[:-1], rest[1:]
            elif cur + (rest[0],) in modules:
                cur, rest = cur + (rest[0],), rest[1:]
            elif (cur, rest[0]) in reexports:
                return follow(cur, rest[0], rest[1:], seen)
            else:
                break
        return cur

    edges = {}
    for mod, text, inline_at in files.values():

        def here(pos):
            line = text.count("\n", 0, pos)
            return mod + ("<inline>",) if inline_at is not None and line > inline_at else mod

        found = []
        for m in USE.finditer(text):
            for segs, _ in expand(m.group(2)):
                found.append((here(m.start()), segs))
        for m in PATH.finditer(USE.sub(lambda u: " " * len(u.group(0)), text)):
            found.append((here(m.start()), m.group(1).split("::")))
        for at, segs in found:
            # Relative names resolve in the file's module; an inline module
            # adds one level that `super` climbs out of.
            target = resolve(at, segs)
            if target is None:
                continue
            target = tuple(s for s in target if s != "<inline>")
            a, b = mod[: args.depth], target[: args.depth]
            if a == b or a[: len(b)] == b or b[: len(a)] == a:
                continue
            edges[(a, b)] = edges.get((a, b), 0) + 1

    def name(m):
        return "::".join(m) or "crate"

    if not args.cycles:
        for (a, b), n in sorted(edges.items()):
            print(f"{name(a)} -> {name(b)} ({n})")
        return 0
    graph = {}
    for a, b in edges:
        graph.setdefault(a, set()).add(b)
    index, low, stack, on, sccs, counter = {}, {}, [], set(), [], [0]

    def strong(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                sccs.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    for comp in sorted(sccs):
        inner = sorted(f"{name(a)} -> {name(b)}" for a, b in edges if a in comp and b in comp)
        print("circle: " + ", ".join(name(m) for m in comp) + "   [" + "; ".join(inner) + "]")
    return 1 if sccs else 0


if __name__ == "__main__":
    sys.exit(main())
