"""pgmpy, as its documentation recommends: ``BIFReader(path).get_model()``; a conditional is
``VariableElimination(model).query([Y], evidence=...)`` on one VariableElimination object; a
do-query is ``VariableElimination(model.do([X])).query([Y], evidence={X: x, **evidence})`` on
the mutilated network (not ``CausalInference.query``, which runs one elimination per
configuration of X's parents, and whose do + evidence answers differ from the mutilated
network's). float64 (pgmpy's default dtype)."""

from __future__ import annotations

NAME = "pgmpy VE"
CALL = ("model = BIFReader(path).get_model(); VariableElimination(model).query([Y], evidence=ev); "
        "VariableElimination(model.do([X])).query([Y], evidence={X: x, **ev})")


def imports(engine: str = "VariableElimination"):
    import logging
    import warnings

    warnings.filterwarnings("ignore")
    logging.getLogger("pgmpy").setLevel(logging.ERROR)
    import pgmpy.inference
    from pgmpy.readwrite import BIFReader

    return BIFReader, getattr(pgmpy.inference, engine)


def load(lib, path: str):
    return lib[0](path).get_model()


def _dist(q, y) -> dict:
    return dict(zip(map(str, q.state_names[y]), map(float, q.values)))


class Session:
    engine_index = 1

    def __init__(self, lib, model):
        self.engine = lib[self.engine_index]
        self.model = model
        self.infer = self.engine(model)

    def ask(self, y: str, evidence: dict, do: dict) -> dict:
        if do:
            q = self.engine(self.model.do(list(do))).query([y], evidence={**evidence, **do}, **self.kw())
        else:
            q = self.infer.query([y], evidence=evidence or None, **self.kw())
        return _dist(q, y)

    def kw(self) -> dict:
        return {"show_progress": False}

    def settle(self) -> None:
        pass


def refusal(exc):
    return None
