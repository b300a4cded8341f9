"""Garbage collection under new questions (issue 20): the tracked containers each new question on a
loaded bnlearn network leaves behind, and the full collections (generation 2, timed through
gc.callbacks) over N distinct conditional questions. A full pass walks every tracked object of the
process (~130,000 after importing JAX), ~0.15-0.4 s here; what questions leave behind decides how
often it comes.

    python benchmarks/gc_questions.py andes 150
"""
import sys, os, gc, time, random
import pgmpy
import causaldsl as cd
EX = os.path.join(os.path.dirname(pgmpy.__file__), "utils", "example_models")
name, n = sys.argv[1], int(sys.argv[2])
m = cd.from_bif(os.path.join(EX, name + ".bif.gz"))
names = m.ir.names
rng = random.Random(5)
qs, seen = [], set()
while len(qs) < n:
    y, e = rng.sample(names, 2)
    if (y, e) in seen: continue
    seen.add((y, e)); qs.append(f'P({y} | {e} = "{m.ir[e].levels[0]}")')
m.query(f"P({names[0]})")
gc.collect(); base = len(gc.get_objects())
full = []
def cb(phase, info):
    if info["generation"] == 2:
        if phase == "start": full.append(time.perf_counter())
        else: full[-1] = time.perf_counter() - full[-1]
gc.callbacks.append(cb)
for q in qs:
    m.query(q)
gc.callbacks.remove(cb)
gc.collect()
print(f"{name}: {(len(gc.get_objects()) - base) / n:.0f} tracked objects kept per question; "
      f"{len(full)} full collections in {n} questions, {1e3 * sum(full):.0f} ms")
