#!/usr/bin/env python3
"""Fails on a circle of includes between the files of a component.

A file of a folder depends on another when it includes that one's header
("x.h" is the interface of x.c): client.c including gate.h makes client
depend on gate. Within each folder given (default: lib and scheduler),
every strongly connected set of two or more such files is a circle; each
is printed with the includes that close it, and the exit status is 1.
Headers without a .c of their own (hooks.def tables, inline-only headers)
are files too.

usage: scripts/check-include-cycles.py [FOLDER ...]
"""
import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def graph(folder):
    """module -> {module it includes: (file, header)}"""
    edges = {}
    for name in sorted(os.listdir(folder)):
        stem, ext = os.path.splitext(name)
        if ext not in (".c", ".h"):
            continue
        with open(os.path.join(folder, name), encoding="utf-8") as f:
            text = f.read()
        deps = edges.setdefault(stem, {})
        for inc in INCLUDE.findall(text):
            target = os.path.splitext(os.path.basename(inc))[0]
            if target != stem and os.path.exists(
                    os.path.join(folder, os.path.basename(inc))):
                deps.setdefault(target, (name, inc))
    for deps in list(edges.values()):
        for t in deps:
            edges.setdefault(t, {})
    return edges


def circles(edges):
    """Strongly connected sets of two or more modules (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
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
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def main(argv):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    folders = argv or ["lib", "scheduler"]
    bad = 0
    for folder in folders:
        edges = graph(os.path.join(root, folder))
        for comp in circles(edges):
            bad += 1
            print("%s: a circle of includes between %s:" % (
                folder, ", ".join(comp)))
            for a in comp:
                for b, (f, inc) in sorted(edges[a].items()):
                    if b in comp:
                        print("  %s/%s includes %s" % (folder, f, inc))
        print("%s: %d files, %d circles" % (
            folder, len(edges), len(circles(edges))))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
