"""pyAgrum (C++): ``gum.loadBN(path)``; conditionals from one ``gum.LazyPropagation(bn)``
(``setEvidence``, ``makeInference``, ``posterior``); do-queries with ``pyagrum.causal``'s
the mutilated network (arcs into X erased, X observed) answered by a new LazyPropagation
(``pyagrum.causal``'s ``causalImpact`` runs in its own process: ``pyagrum_causal.py``). pyAgrum
computes in double but its BIF reader rounds every number to float32. """

from __future__ import annotations

NAME = "pyAgrum"
CALL = ("bn = gum.loadBN(path); ie = gum.LazyPropagation(bn); ie.setEvidence(ev); ie.makeInference(); "
        "ie.posterior(Y); do: the same on the mutilated copy (gum.BayesNet(bn), arcs into X erased, X observed)")


def imports():
    import warnings

    warnings.filterwarnings("ignore")
    import pyagrum as gum
    import pyagrum.causal as csl

    return gum, csl


def load(lib, path: str):
    return lib[0].loadBN(path)


class Session:
    def __init__(self, lib, bn):
        self.gum, self.csl = lib
        self.bn = bn
        self.ie = self.gum.LazyPropagation(bn)
        self.cm = None
        self.do_path = "mutilated"

    def _post(self, ie, bn, y) -> dict:
        ie.makeInference()
        return dict(zip(bn.variable(y).labels(), map(float, ie.posterior(y).toarray())))

    def ask(self, y: str, evidence: dict, do: dict) -> dict:
        if not do:
            self.ie.setEvidence(evidence)
            return self._post(self.ie, self.bn, y)
        if self.do_path == "causal":
            return self._causal(y, evidence, do)
        return self._mutilated(y, evidence, do)

    def _causal(self, y, evidence, do) -> dict:
        if self.cm is None:  # one causal model per loaded network, as for the LazyPropagation
            self.cm = self.csl.CausalModel(self.bn)
        _, pot, _ = self.csl.causalImpact(self.cm, on=y, doing=set(do), knowing=set(evidence) or None,
                                           values={**do, **evidence})
        return dict(zip(self.bn.variable(y).labels(), map(float, pot.toarray().reshape(-1))))

    def _mutilated(self, y, evidence, do) -> dict:
        bn = self.gum.BayesNet(self.bn)
        for x in do:
            i = bn.idFromName(x)
            for p in list(bn.parents(i)):
                bn.eraseArc(p, i)
            bn.cpt(x).fillWith(1.0).normalize()
        ie = self.gum.LazyPropagation(bn)
        ie.setEvidence({**evidence, **do})
        return self._post(ie, bn, y)

    def settle(self) -> None:
        pass


def refusal(exc):
    return None
