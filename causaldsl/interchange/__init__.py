"""Interchange: discrete Bayesian networks in and out of other formats and libraries.

A network held elsewhere (a BIF file, a pgmpy ``DiscreteBayesianNetwork``, a pyAgrum ``BayesNet``)
is one conditional probability table per variable. :mod:`.network` turns such tables straight
into the model IR (one ``Categorical`` per variable, one table of numbers per level, checked as
the checker checks a model, but without DSL text, so any name the file uses survives: ``<5``,
``Asy/Patch``, a variable called ``E``) and reads the tables back out of a model; :mod:`.bif`
reads BIF with the Lark grammar ``grammar/bif.lark`` and writes it; :mod:`.pgmpy` and
:mod:`.pyagrum` convert to and from those libraries' objects; :mod:`.text` writes any model as DSL
text (``m.to_text()``, compact tables and quoted names included) that reads back into the same
model. This stage reads only the language and the model; the engines answer the converted models
like any other.
"""
