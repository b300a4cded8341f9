"""Graphs: questions answered from the causal structure alone.

``admg`` is the one graph type (directed edges plus bidirected latent confounding) with
d-separation and latent projection; ``analysis`` finds adjustment sets, instruments and the like;
``identify`` is the ID and IDC algorithms (Shpitser & Pearl 2006); ``estimand`` is the formula they
return and ``estimation`` evaluates it on data; ``dagitty`` reads and writes DAGitty (and DOT) text;
``causal_graph`` is the user's graph object that ties these together.
"""
