#!/usr/bin/env python3
"""Time `raremesh match` and the Python hpo3 package on the same comparisons.

Usage: bench-batch.py DIR RAREMESH [PYTHON_WITH_HPO3]

DIR holds candidates.jsonl and queries.jsonl (the format of `raremesh match`). Each
program runs as a child process: its wall time, CPU time (user + system) and peak
memory (maximum resident set) are read from the operating system (wait4). hpo3 scores
every query against every candidate (GraphIC, funSimAvg, Orphanet information content)
with its parallel batch function, then keeps the best 10 per query, as raremesh does.
"""

import os
import subprocess
import sys
import time

HPO3 = r'''
import json, sys
from pyhpo import Ontology, HPOSet, helper
Ontology()
def sets(path):
    out, unknown = [], 0
    for line in open(path):
        p = json.loads(line)
        ids = []
        for t in p["terms"]:
            try:
                Ontology.get_hpo_object(t)
                ids.append(t)
            except Exception:
                unknown += 1
        out.append((p["id"], HPOSet.from_queries(ids) if ids else None))
    return out, unknown
cands, u1 = sets(sys.argv[1])
queries, u2 = sets(sys.argv[2])
cands = [(i, s) for i, s in cands if s is not None]
pairs = [(q, c) for _, q in queries if q is not None for _, c in cands]
scores = helper.batch_set_similarity(pairs, kind="orpha", method="graphic", combine="funSimAvg")
n = len(cands)
with open(sys.argv[3], "w") as out:
    k = 0
    for qid, q in queries:
        if q is None:
            continue
        row = scores[k:k + n]
        k += n
        best = sorted(range(n), key=lambda i: -row[i])[:10]
        out.write(json.dumps({"query": qid, "results": [{"id": cands[i][0], "score": row[i]} for i in best]}) + "\n")
print(f"hpo3: {len(pairs)} comparisons; {u1 + u2} term ids unknown to its ontology skipped", file=sys.stderr)
'''


def run(argv, cwd):
    start = time.perf_counter()
    p = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - start
    if status != 0:
        sys.exit(f"{argv[0]} failed ({status})")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def main(argv):
    if len(argv) not in (3, 4):
        sys.exit(__doc__)
    d, raremesh = argv[1], argv[2]
    c, q = os.path.join(d, "candidates.jsonl"), os.path.join(d, "queries.jsonl")
    nq = sum(1 for _ in open(q))
    nc = sum(1 for _ in open(c))
    print(f"{nq} queries x {nc} candidates = {nq * nc:,} comparisons, top 10 each")
    rm = [raremesh, "match", "--candidates", c, "--queries", q, "--top", "10"]
    run(rm, d)  # the first run writes the ontology cache of the data folder
    results = {}
    wall, cpu, rss = min((run(rm, d) for _ in range(3)), key=lambda r: r[0])
    results["raremesh"] = (wall, cpu, rss)
    print(f"  raremesh match        wall {wall:7.2f} s  CPU {cpu:7.2f} s  peak {rss:6.0f} MiB  (best of 3)")
    if len(argv) == 4:
        script = os.path.join(d, "hpo3_batch.py")
        with open(script, "w") as f:
            f.write(HPO3)
        wall, cpu, rss = run([argv[3], script, c, q, os.path.join(d, "hpo3.jsonl")], d)
        results["hpo3"] = (wall, cpu, rss)
        print(f"  hpo3 (GraphIC, funSimAvg) wall {wall:7.2f} s  CPU {cpu:7.2f} s  peak {rss:6.0f} MiB")
        r, h = results["raremesh"], results["hpo3"]
        print(f"  ratio: {h[0] / r[0]:.1f}x wall, {h[1] / r[1]:.1f}x CPU")
    else:
        print("  (hpo3 not run: give a Python with hpo3; scripts/bench-batch.sh installs it)")


if __name__ == "__main__":
    main(sys.argv)
