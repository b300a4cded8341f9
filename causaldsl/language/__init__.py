"""The language: DSL text in, syntax tree out.

``grammars`` loads the Lark grammars shipped in ``grammar/``; ``parser`` runs Lark's LALR parser
and builds the syntax tree of ``syntax`` (plain frozen dataclasses with source spans); ``errors``
defines :class:`~causaldsl.language.errors.CausalDSLError` and the located, hinted messages every
later stage raises. Nothing here knows what a distribution or a query means: that is the model's
job (:mod:`causaldsl.model`), and every other package may import this one, never the reverse.
"""
