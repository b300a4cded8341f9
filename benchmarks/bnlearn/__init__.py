"""The bnlearn networks pgmpy ships, answered by causaldsl, pgmpy and pyAgrum side by side
(``python -m benchmarks.bnlearn``; see ``driver.py``). Each system runs in its own process
(``worker.py``), and a peer's process imports nothing of causaldsl."""
