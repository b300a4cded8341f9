"""pyAgrum's causal module for the do-questions only: ``csl.causalImpact(csl.CausalModel(bn),
on=Y, doing={X}, knowing=set(ev), values={X: x, **ev})`` (identification by do-calculus, then
LazyPropagation), in its own process: on insurance its process grew past 3 GB, which must
not count against pyAgrum's LazyPropagation row."""

from __future__ import annotations

from . import pyagrum_lp

NAME = "pyagrum.causal"
CALL = "csl.causalImpact(csl.CausalModel(bn), on=Y, doing={X}, knowing=set(ev), values={X: x, **ev})"
DO_ONLY = True

imports = pyagrum_lp.imports
load = pyagrum_lp.load
refusal = pyagrum_lp.refusal


class Session(pyagrum_lp.Session):
    def __init__(self, lib, bn):
        super().__init__(lib, bn)
        self.do_path = "causal"
