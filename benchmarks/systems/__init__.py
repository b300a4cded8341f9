"""One module per system; each exposes ``prime()`` and a function per workload it takes part in."""
