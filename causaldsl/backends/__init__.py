"""Engines that answer planned queries: exact tensor contraction, Monte Carlo, NumPyro."""
