#!/usr/bin/env python3
"""Finds module cycles in a crate from `cargo modules dependencies` output (Graphviz DOT).

Usage: cargo modules dependencies --package P --lib --no-externs --no-sysroot --no-traits \
           --no-types --no-fns | scripts/module-cycles.py P

cargo-modules draws every module and its "uses" edges (a `use` of another module's item).
Its own `--acyclic` check also counts an item and its methods as a cycle, so this reads the
graph instead. A use between a module and one of its ancestors is a module's own facade (a
parent re-exporting its children, or implementing a type its children extend) and is not
counted — so a crate root holds declarations and re-exports only, never shared state; any
other use `a -> b` is lifted to the two siblings under their nearest common ancestor that
contain `a` and `b`, and a cycle among siblings (Tarjan's strongly connected components) is
reported. Exits 1 when there is one.
"""

import re
import sys
from collections import defaultdict

EDGE = re.compile(r'^\s*"([^"]+)" -> "([^"]+)" \[label="uses"')


def lift(a: str, b: str):
    pa, pb = a.split("::"), b.split("::")
    n = 0
    while n < min(len(pa), len(pb)) and pa[n] == pb[n]:
        n += 1
    if n == len(pa) or n == len(pb):
        return None  # one is the other's ancestor
    return "::".join(pa[: n + 1]), "::".join(pb[: n + 1])


def components(graph):
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            scc = []
            while True:
                w = stack.pop()
                on.discard(w)
                scc.append(w)
                if w == v:
                    break
            if len(scc) > 1:
                out.append(sorted(scc))

    sys.setrecursionlimit(10000)
    for v in list(graph):
        if v not in index:
            visit(v)
    return out


def main():
    name = sys.argv[1] if len(sys.argv) > 1 else "crate"
    graph = defaultdict(set)
    why = defaultdict(list)
    for line in sys.stdin:
        m = EDGE.match(line)
        if not m:
            continue
        lifted = lift(m.group(1), m.group(2))
        if lifted:
            graph[lifted[0]].add(lifted[1])
            graph[lifted[1]]
            why[lifted].append(f"{m.group(1)} -> {m.group(2)}")
    if not graph:
        print(f"{name}: no module graph read (did cargo modules fail?)")
        return 1
    cycles = components(graph)
    if not cycles:
        print(f"{name}: no module cycles ({len(graph)} modules with uses)")
        return 0
    for c in cycles:
        print(f"{name}: module cycle: {' <-> '.join(c)}")
        for a in c:
            for b in c:
                for w in why.get((a, b), []):
                    print(f"    {w}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
