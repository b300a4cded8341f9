"""causaldsl: ``cd.from_bif(path)``, then ``m.query('P(Y | do(X = "x"), E = "e")')``, float64.

A new question is a query string on the loaded model; a repeated one is the same string again,
answered by the program the exact engine compiles once a question is asked twice."""

from __future__ import annotations

NAME = "causaldsl"
CALL = ('m = cd.from_bif(path); m.query(\'P(Y | E = "e")\'); '
        'm.query(\'P(Y | do(X = "x"), E = "e")\')')


def imports():
    import causaldsl as cd

    return cd


def load(cd, path: str):
    return cd.from_bif(path)


def _q(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Session:
    def __init__(self, cd, m):
        self.m = m

    def ask(self, y: str, evidence: dict, do: dict) -> dict:
        cond = []
        if do:
            cond.append("do(" + ", ".join(f"{v} = {_q(s)}" for v, s in do.items()) + ")")
        cond += [f"{v} = {_q(s)}" for v, s in evidence.items()]
        r = self.m.query(f"P({y}" + (" | " + ", ".join(cond) if cond else "") + ")")
        return {str(k): float(v) for k, v in r.value.items()}

    def settle(self) -> None:
        """The compiled program of a repeated question is built on a background thread."""
        from causaldsl.engines.exact import wait_compiled

        wait_compiled()


def refusal(exc: BaseException):
    """The message of a refusal of ours (a CausalDSLError), else None."""
    from causaldsl.errors import CausalDSLError

    return str(exc) if isinstance(exc, CausalDSLError) else None
