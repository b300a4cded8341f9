"""Bayesian fitting: a model's uncertain parameters learned from data.

``data`` reads and checks a data set against the model's variables and levels; ``likelihood``
builds the NumPyro program of the model's likelihood (counts for discrete tables, a plate
otherwise); ``fit`` runs NUTS or SVI on it and keeps the posterior draws that fitted answers
average over.
"""
