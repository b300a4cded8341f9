"""Side-by-side benchmarks against peer libraries (``python -m benchmarks.run``); not part of the tests."""
