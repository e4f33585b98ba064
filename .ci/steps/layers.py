#!/usr/bin/env python3
"""The structure picture of kpi-etl, checked: every `crate::` and `super::` path of the library
(src/, without the binary's main.rs and cli/) becomes an edge between modules; the script fails
when the modules form a cycle, at the top level or inside one module, or when an edge points up
the declared layers.

    python3 .ci/steps/layers.py            # check, print the layers
    python3 .ci/steps/layers.py --edges    # also print every edge with the file that makes it
"""
import os
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "src")

# Bottom to top. A module may use only modules of lower layers.
LAYERS = [
    ["error", "sql"],
    ["config", "storage", "pii"],
    ["extract"],
    ["load", "checks"],
    ["transform"],
    ["warehouse"],
    ["run"],
    ["consumers"],
]
RANK = {m: i for i, layer in enumerate(LAYERS) for m in layer}


def module_of(path):
    rel = os.path.relpath(path, ROOT)[:-3].split(os.sep)
    if rel[-1] in ("mod", "lib"):
        rel = rel[:-1]
    return rel


def files():
    for d, _, fs in os.walk(ROOT):
        for f in sorted(fs):
            p = os.path.join(d, f)
            rel = os.path.relpath(p, ROOT)
            if not f.endswith(".rs") or rel == "main.rs" or rel.startswith("cli" + os.sep):
                continue
            yield p


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return "\n".join(re.sub(r"//.*", "", line) for line in text.split("\n"))


def references(path):
    """Module paths (lists) the file refers to, resolved from the crate root."""
    me = module_of(path)
    text = strip_comments(open(path, encoding="utf-8").read())
    # Flatten `use a::{b, c::{d}}` into a::b, a::c::d.
    out = []
    for m in re.finditer(r"\b(crate|super)((?:::\w+)+|::\{)", text):
        start = m.start()
        chunk = text[start:start + 400]
        head = re.match(r"(crate|super)((?:::(?:super|\w+))*)", chunk)
        parts = [p for p in head.group(2).split("::") if p]
        if head.group(1) == "crate":
            base = []
        else:
            # `super` inside a/b.rs (module a::b) is a; in a/mod.rs (module a) the parent of a.
            base = me[:-1]
        while parts and parts[0] == "super":
            base = base[:-1]
            parts = parts[1:]
        rest = chunk[head.end():]
        if rest.startswith("::{"):
            inner = rest[3:rest.find("}") if "}" in rest else len(rest)]
            for name in re.findall(r"\b(\w+)", inner.split("{")[0]):
                out.append(base + parts + [name])
        out.append(base + parts)
    return me, out


def scc(nodes, edges):
    index, low, stack, on, comps = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
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
                comps.append(sorted(comp))

    for n in sorted(nodes):
        if n not in index:
            visit(n)
    return comps


def main():
    top = {}      # module -> {module: file}
    inner = {}    # (top, sub) -> {(top, sub): file}
    tops = set()
    for p in files():
        me, refs = references(p)
        if not me:
            continue
        tops.add(me[0])
        for r in refs:
            if not r or r[0] in ("self",):
                continue
            if r[0] != me[0]:
                top.setdefault(me[0], {}).setdefault(r[0], os.path.relpath(p, ROOT))
            elif len(me) > 1 and len(r) > 1 and r[1] != me[1]:
                inner.setdefault(me[0], {}).setdefault(me[1], {}).setdefault(r[1], os.path.relpath(p, ROOT))
    problems = []
    for comp in scc(tops, {k: set(v) for k, v in top.items()}):
        problems.append("cycle between modules: " + " <-> ".join(comp))
    for t, graph in sorted(inner.items()):
        subs = set(graph) | {s for v in graph.values() for s in v}
        for comp in scc(subs, {k: set(v) for k, v in graph.items()}):
            problems.append(f"cycle inside {t}: " + " <-> ".join(comp))
    for a, targets in sorted(top.items()):
        for b, f in sorted(targets.items()):
            if a not in RANK or b not in RANK:
                problems.append(f"{a} -> {b} ({f}): a module missing from LAYERS")
            elif RANK[b] >= RANK[a]:
                problems.append(f"{a} -> {b} ({f}): points up or sideways in the layers")
    print("layers, bottom to top (a module uses only the layers below it):")
    for i, layer in enumerate(LAYERS):
        uses = sorted({b for a in layer for b in top.get(a, {})})
        print(f"  {i}. {', '.join(layer):<22} uses: {', '.join(uses) or '-'}")
    if "--edges" in sys.argv:
        for a, targets in sorted(top.items()):
            for b, f in sorted(targets.items()):
                print(f"  {a} -> {b}   ({f})")
        for t, graph in sorted(inner.items()):
            for a, targets in sorted(graph.items()):
                for b, f in sorted(targets.items()):
                    print(f"  {t}::{a} -> {t}::{b}   ({f})")
    if problems:
        print("\n".join(problems), file=sys.stderr)
        sys.exit(1)
    print(f"no import cycle: {len(tops)} modules, {sum(len(v) for v in top.values())} edges between them")


if __name__ == "__main__":
    main()
