"""The model: what a program means, independent of how it is computed.

``checker`` turns a syntax tree into the immutable IR of ``ir`` (a topologically ordered
structural causal model), checking names, domains, cycles and probabilities; ``expressions`` and
``distributions`` give each expression and each family its one meaning; ``worlds`` does graph
surgery (``do``) and builds twin networks for counterfactuals (Pearl 2009, ch. 7; Balke & Pearl
1994); ``queries`` plans a query into worlds, targets and evidence; ``validity`` checks a plan
before any engine runs it. Engines, graphs and fitting build on this package.
"""
