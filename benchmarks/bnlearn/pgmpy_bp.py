"""pgmpy's BeliefPropagation (exact: a junction tree), called as its documentation shows:
``BeliefPropagation(model).query([Y], evidence=...)``; do-queries on ``model.do([X])``. float64."""

from __future__ import annotations

from . import pgmpy_ve

NAME = "pgmpy BP"
CALL = ("BeliefPropagation(model).query([Y], evidence=ev); "
        "BeliefPropagation(model.do([X])).query([Y], evidence={X: x, **ev})")


def imports():
    return pgmpy_ve.imports("BeliefPropagation")


load = pgmpy_ve.load
refusal = pgmpy_ve.refusal


class Session(pgmpy_ve.Session):
    def kw(self) -> dict:
        return {"show_progress": False}
