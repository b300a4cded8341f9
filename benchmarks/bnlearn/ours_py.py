"""causaldsl asked from Python values: ``m.probability(Y, given=ev, do={X: x})``, float64.

The same questions as ``ours.py``, each built from the dictionaries without writing or parsing
query text (:mod:`causaldsl.language.questions`), as pgmpy and pyAgrum take theirs; everything
else (loading, the repeated question's compiled program) as there."""

from __future__ import annotations

from .ours import Session as TextSession
from .ours import imports, load, refusal  # noqa: F401  (the system's interface, as ours.py's)

NAME = "causaldsl, m.probability"
CALL = 'm = cd.from_bif(path); m.probability(Y, given=ev); m.probability(Y, given=ev, do={X: x})'


class Session(TextSession):
    def ask(self, y: str, evidence: dict, do: dict) -> dict:
        r = self.m.probability(y, given=evidence, do=do)
        return {str(k): float(v) for k, v in r.value.items()}
