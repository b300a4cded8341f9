"""The engines: a planned query in, a :class:`~causaldsl.engines.results.Result` out.

``dispatch`` chooses an engine for a plan and runs it; ``exact`` answers discrete plans by tensor
contraction (``contraction`` finds the order and estimates its cost); ``montecarlo`` samples the
worlds with shared noise (``noise``, ``sharding``), ``gaussian`` conditions linear-Gaussian models
in closed form, ``nuts`` and ``numpyro_backend`` hand a model to NumPyro; ``scalar`` evaluates
one draw cheaply; ``actual_cause`` decides Halpern-Pearl actual causes by enumerating contexts;
``compilation_cache`` is JAX's persistent cache, opt in; ``results`` is the
answer object. Engines read the model (:mod:`causaldsl.model`) and never the faces.
"""
