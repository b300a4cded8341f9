"""Loading a bnlearn BIF: causaldsl's from_bif beside pyAgrum's loadBN on the same decompressed text
(pyAgrum reads it from a file), best of 15 each, the two interleaved, one process.

    python benchmarks/bif_vs_pyagrum.py asia sachs child insurance alarm hailfinder win95pts andes mildew barley

'refused': pyAgrum's BIF reader refuses the file (child's level 'Asy/Patch').
"""
import sys, time, os, gzip, tempfile, gc
import pgmpy, pyagrum as gum
import causaldsl as cd
EX = os.path.join(os.path.dirname(pgmpy.__file__), "utils", "example_models")
for name in sys.argv[1:]:
    text = gzip.open(os.path.join(EX, name + ".bif.gz"), "rt").read()
    path = os.path.join(tempfile.mkdtemp(), name + ".bif"); open(path, "w").write(text)
    cd.from_bif(text)
    a=b=1e9
    for i in range(15):
        gc.collect()
        t0=time.perf_counter(); cd.from_bif(text); a=min(a,time.perf_counter()-t0)
        try:
            t0=time.perf_counter(); gum.loadBN(path); b=min(b,time.perf_counter()-t0)
        except Exception: pass
    theirs = "refused" if b == 1e9 else f"{1e3*b:7.2f} ms  ratio {a/b:5.2f}"
    print(f"{name:10s} ours {1e3*a:7.2f} ms  pyAgrum {theirs}", flush=True)
