"""The explorer: click a node to intervene on it or condition on it, move a control, see the three rungs.

Every variable is in one of three modes, which a click on its node cycles:

* ``none``: left to its mechanism;
* ``do``: held at a value by an intervention (graph surgery: its box is doubled
  and the arrows into it disappear);
* ``observe``: conditioned on a value (shaded).

For the chosen outcome ``Y``, with the ``do`` nodes ``X = x`` and the observed
nodes ``E = e``, the explorer asks three questions and draws their answers side
by side (Pearl's ladder of causation, *The Book of Why*, ch. 1):

* **seeing** ``P(Y | X = x, E = e)``: the ``do`` values merely observed;
* **doing** ``P(Y | do(X = x), E = e)``: the intervention, evidence in the same world;
* **imagining** ``P(Y[X = x] | E = e)``: the evidence is what happened (the factual
  world), ``Y[X = x]`` what would have happened under the intervention, with the
  noise shared between the worlds (a twin network). A ``do`` node may also carry a
  factual value (``fact``): ``P(Y[X = 0] | X = 1, Y = 1)`` is the probability of
  necessity.

Without any ``do`` node the three questions coincide. Discrete outcomes are drawn
as bars (exact answers where the model is discrete), continuous ones as weighted
histograms with their means (Monte Carlo, likelihood weighting; the same seed on
every update, so a moving slider moves the curve, not the noise).

Each question is compiled once per *structure* (which nodes are in which mode);
moving a control only passes new values to the compiled program, so an update
takes milliseconds (:attr:`Explorer.last_update_ms`).

>>> import causaldsl as cd
>>> m = cd.model("model m {\\n z ~ Bernoulli(0.5)\\n x ~ Bernoulli(if z then 0.8 else 0.2)\\n"
...              " y ~ Bernoulli(0.1 + 0.5 * x + 0.3 * z)\\n}")
>>> ex = explore(m, outcome="y")
>>> ex.click("x"); ex.state.modes["x"], ex.state.values["x"]
('do', 1.0)
>>> {k: round(v["dist"]["1"], 4) for k, v in ex.answers.items()}
{'seeing': 0.84, 'doing': 0.75, 'imagining': 0.75}
"""

from __future__ import annotations

import html
import time
from dataclasses import dataclass, field, replace
from typing import Mapping, Optional

import numpy as np

from ..engines.config import float64
from ..language.errors import CausalDSLError, QueryError, UnknownNameError, did_you_mean
from .charts import PALETTE, bars_svg, histograms_svg
from .drawing import draw_graph, layered_layout, legend_items, legend_width
from .views import stderr_text, value_text

MODES = ("none", "do", "observe")
SETTINGS = ("seeing", "doing", "imagining")
BINS = 40

#: Shown with the static copy (:meth:`Explorer.static_html`): in JupyterLab, hide the copy while the
#: live widget (the next output) renders, and hide that output when it cannot ("model not found").
STATIC_CSS = ("<style>"
              ".jp-OutputArea-child:has(.cdsl-explorer-static):has(+ .jp-OutputArea-child .cdsl-explorer)"
              "{display:none}"
              ".jp-OutputArea-child:has(.cdsl-explorer-static) + .jp-OutputArea-child:not(:has(.cdsl-explorer))"
              "{display:none}"
              "</style>")


# ------------------------------------------------------------------ the state (pure)
@dataclass(frozen=True)
class State:
    """What the explorer asks: the outcome, each variable's mode and value, factual values of ``do`` nodes.

    Immutable: :func:`cycle`, :func:`with_value` and :func:`with_fact` return new states.
    """

    outcome: str
    modes: Mapping[str, str] = field(default_factory=dict)  # name -> "do" | "observe"  (absent: none)
    values: Mapping[str, float] = field(default_factory=dict)  # name -> coded value, for do/observe nodes
    facts: Mapping[str, Optional[float]] = field(default_factory=dict)  # do node -> factual value, or None
    # do node -> a new mechanism instead of a value, as written after its name: "= x + 1", "~ Bernoulli(0.3)"
    regimes: Mapping[str, str] = field(default_factory=dict)


def cycle(state: State, name: str, default: float) -> State:
    """The state after a click on ``name``: none -> do -> observe -> none.

    >>> s = cycle(State("y"), "x", 1.0)
    >>> s.modes, s.values
    ({'x': 'do'}, {'x': 1.0})
    >>> s = cycle(s, "x", 1.0); s.modes
    {'x': 'observe'}
    >>> cycle(s, "x", 1.0).modes
    {}
    """
    modes, values, facts, regimes = dict(state.modes), dict(state.values), dict(state.facts), dict(state.regimes)
    now = modes.get(name, "none")
    nxt = MODES[(MODES.index(now) + 1) % len(MODES)]
    facts.pop(name, None)
    regimes.pop(name, None)
    if nxt == "none":
        modes.pop(name, None)
        values.pop(name, None)
    else:
        modes[name] = nxt
        values.setdefault(name, default)
    return replace(state, modes=modes, values=values, facts=facts, regimes=regimes)


def with_regime(state: State, name: str, regime: str, default: float) -> State:
    """The state with ``name`` intervened on by a new mechanism, ``regime`` as written after its
    name (``"= x + 1"``, ``"~ Bernoulli(0.3)"``).

    >>> with_regime(State("y"), "x", "= x + 1", 0.0).regimes
    {'x': '= x + 1'}
    """
    return replace(state, modes={**state.modes, name: "do"}, values={**state.values, name: float(default)},
                   regimes={**state.regimes, name: regime})


def with_value(state: State, name: str, value: float) -> State:
    """The state with ``name``'s do/observed value set to ``value`` (a new mechanism gives way to it)."""
    regimes = {k: v for k, v in state.regimes.items() if k != name}
    return replace(state, values={**state.values, name: float(value)}, regimes=regimes)


def with_fact(state: State, name: str, value: Optional[float]) -> State:
    """The state with the factual (observed) value of the do node ``name`` (``None``: not observed)."""
    return replace(state, facts={**state.facts, name: None if value is None else float(value)})


def _text(node, value: float) -> str:
    if node.levels:
        return node.levels[int(round(value))]
    return f"{float(value):.10g}"


def questions(ir, state: State) -> dict[str, str]:
    """The query text of each setting (``seeing``, ``doing``, ``imagining``) for ``state``.

    >>> import causaldsl as cd
    >>> m = cd.model("model m {\\n x ~ Bernoulli(0.5)\\n y ~ Bernoulli(0.2 + 0.5 * x)\\n}")
    >>> s = State("y", {"x": "do", "y": "observe"}, {"x": 0.0, "y": 1.0}, {"x": 1.0})
    >>> questions(m.ir, s)["imagining"]
    'P(y[x = 0] | x = 1, y = 1)'
    >>> questions(m.ir, s)["doing"]
    'P(y | do(x = 0), y = 1)'
    >>> questions(m.ir, with_regime(State("y"), "x", "~ Bernoulli(0.3)", 0.0))["imagining"]
    'P(y[x ~ Bernoulli(0.3)])'
    """
    y = state.outcome
    head = "P" if ir[y].finite else "E"

    def ask(target: str, conds: list[str]) -> str:
        if head == "P":
            return f"P({target}" + (" | " + ", ".join(conds) if conds else "") + ")"
        return f"E[{target}" + (" | " + ", ".join(conds) if conds else "") + "]"

    dos = [(n, state.values[n]) for n, m in state.modes.items() if m == "do"]
    obs = [(n, state.values[n]) for n, m in state.modes.items() if m == "observe"]
    eq = [f"{n} = {_text(ir[n], v)}" for n, v in obs]
    # A new mechanism has no value to be seen: seeing leaves that variable to its own mechanism.
    seeing = ask(y, [f"{n} = {_text(ir[n], v)}" for n, v in dos if n not in state.regimes] + eq)
    if not dos:
        return {"seeing": seeing, "doing": seeing, "imagining": seeing}
    items = ", ".join(f"{n} {state.regimes[n]}" if n in state.regimes else f"{n} = {_text(ir[n], v)}"
                      for n, v in dos)
    do = f"do({items})"
    world = f"[{items}]"
    facts = [f"{n} = {_text(ir[n], state.facts[n])}" for n, _ in dos if state.facts.get(n) is not None]
    return {"seeing": seeing, "doing": ask(y, [do] + eq), "imagining": ask(y + world, facts + eq)}


# ------------------------------------------------------------------ answers
class _Histogram:
    """A jitted weighted histogram of a query's target: ``(key, values, edges) -> summary``.

    Built on the Monte Carlo engine's forward pass (likelihood weighting), so
    evidence and counterfactual worlds are handled exactly as in ``query``; the
    bin edges are an argument, so new edges do not recompile.

    Compiled ahead of time (:meth:`prepare`), so that the explorer can compile
    the programs of several settings at once, in threads: XLA compiles without
    holding the interpreter lock.
    """

    def __init__(self, plan, n: int, source: str, posterior: bool = False):
        import jax
        import jax.numpy as jnp

        from ..engines.montecarlo import forward, reduce_draws
        from ..model.expressions import compile_expr

        # Over a posterior the draws are vmapped over the parameter draws instead of split across devices.
        run, self.nodes = forward(plan.network, dict(plan.evidence), n, source, shard_draws=not posterior)
        target = compile_expr(plan.target)
        self.posterior = posterior

        def fn(key, values, edges, theta):
            env, logw, flags = run(key, values, theta)
            slots = {f"${i}": values[i] for i in range(values.shape[0])}
            t = jnp.broadcast_to(target({**env, **slots}), (n,))
            out = reduce_draws(t, logw, False)  # the Monte Carlo engine's own estimator
            # The histogram: the same weights, normalised as reduce_draws does (dead draws weigh 0).
            top = jnp.max(logw)
            w = jnp.exp(logw - jnp.where(jnp.isfinite(top), top, 0.0))
            sw = jnp.sum(w)
            # Draws outside the bins are counted apart, not lumped into the end bins (which would spike).
            below, above = t < edges[0], t > edges[-1]
            idx = jnp.clip(jnp.searchsorted(edges, t, side="right") - 1, 0, edges.shape[0] - 2)
            mass = jnp.zeros(edges.shape[0] - 1, t.dtype).at[idx].add(jnp.where(below | above, 0.0, w)) / sw
            return {"mass": mass, "mean": out["estimate"], "se": out["stderr"], "ess": out["ess"],
                    "below": jnp.sum(jnp.where(below, w, 0.0)) / sw, "above": jnp.sum(jnp.where(above, w, 0.0)) / sw,
                    "any": out["any"], "finite": out["finite"], "flags": flags}

        # Over a posterior: one program for every parameter draw (vmapped), with common random
        # numbers (the same key for every draw), so the spread across draws is the posterior's.
        self.jitted = jax.jit(jax.vmap(fn, in_axes=(None, None, None, 0)) if posterior else fn)
        self.compiled = None

    @staticmethod
    def _args(values, edges, seed: int, theta=None) -> tuple:
        import jax

        return jax.random.PRNGKey(seed), np.asarray(values, float), np.asarray(edges, float), (theta or {})

    @float64  # in the compiling threads too: the switch is per thread
    def prepare(self, values, edges, seed: int, theta=None) -> "_Histogram":
        """Compile for arguments shaped like these (once); returns ``self``."""
        if self.compiled is None:
            self.compiled = self.jitted.lower(*self._args(values, edges, seed, theta)).compile()
        return self

    @float64
    def __call__(self, values, edges, seed: int, theta=None) -> dict:
        import jax

        args = self._args(values, edges, seed, theta)
        return jax.device_get(self.prepare(values, edges, seed, theta).compiled(*args))


#: Parameter draws (thinned evenly) and Monte Carlo draws per parameter draw of the fitted explorer.
POSTERIOR_THETA = 200
POSTERIOR_PER_DRAW = 1_000


def _theta(model, cache: dict):
    """The model's parameter draws, thinned to :data:`POSTERIOR_THETA`, as device arrays (cached)."""
    import jax.numpy as jnp

    if ("theta",) not in cache:
        post = model._posterior()
        idx = np.linspace(0, post.count - 1, min(post.count, POSTERIOR_THETA)).round().astype(int)
        cache[("theta",)] = ({k: jnp.asarray(np.asarray(v)[idx]) for k, v in post.theta.items()}, post.source,
                             len(idx))
    return cache[("theta",)]


def _has_params(model) -> bool:
    return getattr(model, "_posterior", lambda: None)() is not None


def _histogram_program(model, text: str, edges, samples: int, seed: int, cache: dict):
    """The compiled histogram program of ``text`` and its plan (``None`` when ``answer`` uses ``query``)."""
    from ..language.parser import parse_query
    from ..model.queries import plan_query

    if edges is None:
        return None
    try:
        plan = plan_query(model.ir, parse_query(text), text)
    except CausalDSLError:
        return None  # answer() reports it
    return _program(model, plan, text, samples, cache).prepare(plan.values or (0.0,), edges, seed,
                                                               _theta(model, cache)[0] if _has_params(model) else None)


def _program(model, plan, text: str, samples: int, cache: dict) -> "_Histogram":
    """The (uncompiled) histogram program of ``plan``, from the cache: one per structure."""
    posterior = _has_params(model)
    n = POSTERIOR_PER_DRAW if posterior else samples
    key = ("hist", plan.key, n, posterior)
    if key not in cache:
        cache[key] = _Histogram(plan, n, text, posterior)
    return cache[key]


def compile_all(model, texts, edges, samples: int, seed: int, cache: dict) -> None:
    """Compile the histogram programs of several questions at once, one thread each."""
    from concurrent.futures import ThreadPoolExecutor

    todo = [t for t in dict.fromkeys(texts)]
    if len(todo) < 2 or edges is None:
        return
    with ThreadPoolExecutor(max_workers=len(todo), thread_name_prefix="causaldsl-compile") as pool:
        list(pool.map(lambda t: _histogram_program(model, t, edges, samples, seed, cache), todo))


def answer(model, text: str, edges: Optional[np.ndarray], *, samples: int, seed: int, cache: dict) -> dict:
    """One setting's answer: ``{"query", "dist" | ("mass", "mean"), "stderr", "method"}``, or ``{"error"}``.

    A discrete outcome is answered by ``model.query`` (exact where it can be); a
    continuous one by a weighted histogram over ``edges`` plus its mean.
    """
    from ..language.parser import parse_query
    from ..model.queries import plan_query

    try:
        if edges is None:
            r = model.query(text, samples=samples, seed=seed)
            if isinstance(r.value, dict):
                out = {"query": text, "dist": {_key(k): float(v) for k, v in r.value.items()},
                       "stderrs": {_key(k): float(v) for k, v in (r.stderrs or {}).items()} or None,
                       "method": r.details, "result": r}
                if isinstance(r.interval, dict):  # over a posterior: intervals and the per-draw answers
                    out["intervals"] = {_key(k): tuple(v) for k, v in r.interval.items()}
                    out["draws"] = {_key(k): np.asarray(v) for k, v in r.draws.items()}
                return out
            return {"query": text, "mean": float(r.value), "stderr": r.stderr, "method": r.details,
                    "interval": r.interval, "result": r}
        plan = plan_query(model.ir, parse_query(text), text)
        program = _program(model, plan, text, samples, cache)
        if program.posterior:
            theta, source, count = _theta(model, cache)
            out = program(plan.values or (0.0,), edges, seed, theta)
            out = {**out, "any": np.all(out["any"]), "finite": np.all(out["finite"]),
                   "flags": np.any(out["flags"], axis=0)}
        else:
            out = program(plan.values or (0.0,), edges, seed)
        if not out["any"]:
            return {"query": text, "error": f"the evidence was never met in {samples:,} draws "
                                            "(an event of probability zero?)"}
        if np.any(out["flags"]):  # first: invalid parameters make the weights NaN too
            bad = [nd.origin or nd.name for nd, f in zip(program.nodes, out["flags"]) if f]
            return {"query": text, "error": "invalid distribution parameters at " + ", ".join(dict.fromkeys(bad))}
        if not out["finite"]:
            return {"query": text, "error": "the outcome is infinite or undefined (NaN) for some draws"}
        widths = np.diff(edges)
        if program.posterior:
            return _posterior_answer(text, out, widths, plan, source, count)
        return {"query": text, "mass": np.asarray(out["mass"]), "density": np.asarray(out["mass"]) / widths,
                "mean": float(out["mean"]), "stderr": float(out["se"]), "ess": float(out["ess"]),
                "outside": (float(out["below"]), float(out["above"])),
                "method": f"monte-carlo, {samples:,} draws" + (", likelihood weighting" if plan.evidence else "")}
    except CausalDSLError as err:
        return {"query": text, "error": err.message + (f" ({err.hint})" if err.hint else "")}


def _posterior_answer(text: str, out: dict, widths, plan, source: str, count: int) -> dict:
    """A continuous outcome over parameter draws: the posterior predictive histogram (each draw's
    histogram, averaged), and the posterior of the mean: its draws, mean and equal-tailed interval."""
    from ..engines.dispatch import LEVEL

    means = np.asarray(out["mean"])
    mass = np.asarray(out["mass"]).mean(axis=0)
    lo, hi = np.quantile(means, [(1 - LEVEL) / 2, 1 - (1 - LEVEL) / 2])
    return {"query": text, "mass": mass, "density": mass / widths, "mean": float(means.mean()),
            "interval": (float(lo), float(hi)), "draws": means, "stderr": float(np.mean(out["se"])),
            "ess": float(np.mean(out["ess"])),
            "method": f"over the {source}, {count:,} draws x monte-carlo {POSTERIOR_PER_DRAW:,}"
                      + (", likelihood weighting" if plan.evidence else "")}


def _key(k) -> str:
    """A distribution's key as the explorer shows it: a level name, or the number as :func:`value_text` writes it."""
    return k if isinstance(k, str) else f"{float(k):.4g}"


def _bins(draws: np.ndarray, integer: bool) -> np.ndarray:
    """Bin edges for an outcome's histogram, from draws of its marginal: the central 98%, widened 10%."""
    draws = draws[np.isfinite(draws)]
    if draws.size == 0:
        return np.linspace(-1.0, 1.0, BINS + 1)
    lo, hi = np.quantile(draws, [0.01, 0.99])
    if integer:
        lo, hi = np.floor(lo), np.ceil(hi)
        k = int(hi - lo) + 1
        if k <= 60:
            return np.arange(lo, lo + k + 1) - 0.5
    pad = 0.1 * (hi - lo) if hi > lo else 1.0
    return np.linspace(lo - pad, hi + pad, BINS + 1)


# ------------------------------------------------------------------ the widget
_ESM = """
function render({ model, el }) {
  const box = document.createElement("div");
  box.className = "cdsl-explorer-graph";
  el.appendChild(box);
  const draw = () => { box.innerHTML = model.get("svg"); };
  draw();
  model.on("change:svg", draw);
  // One listener for the whole picture: nodes are replaced on every redraw.
  box.addEventListener("click", (event) => {
    const node = event.target.closest("[data-node]");
    if (node) model.send({ event: "click", node: node.getAttribute("data-node") });
  });
  return () => model.off("change:svg", draw);
}
export default { render };
"""


def _graph_widget_class():
    import anywidget
    import traitlets

    class GraphView(anywidget.AnyWidget):
        """The causal graph as SVG; a click on a node sends ``{"event": "click", "node": NAME}``."""

        _esm = _ESM
        _css = ".cdsl-explorer-graph svg .cdsl-node:hover .cdsl-shape { stroke-width: 2.6; }"
        svg = traitlets.Unicode("").tag(sync=True)

    return GraphView


class Explorer:
    """The explorer of one model (see the module docstring); display it in a notebook.

    ``click(name)`` does what a click on the node does, ``set(name, value)`` what
    moving its control does, and ``outcome = name`` picks the outcome; each
    updates :attr:`answers` (setting -> answer dict) and the picture.
    """

    def __init__(self, model, outcome: Optional[str] = None, *, samples: int = 20_000, seed: int = 0):
        import ipywidgets as W

        self.model = model
        self.ir = model.ir
        self.samples = int(samples)
        self.seed = int(seed)
        self._cache: dict = {}
        self.last_update_ms: Optional[float] = None
        # A model intervened on from Python (m.do(x="x + 1")) holds x under its new mechanism, and
        # the natural value x' that mechanism reads: drawn, but, like a held value, not clickable.
        names = [n.name for n in self.ir.nodes if _free(n)]
        if not names:
            raise QueryError("the model has no variable left to explore", hint="every variable is held by do()")
        if outcome is None:
            sinks = [v for v in names if self.ir.graph.out_degree(v) == 0 and not self.ir[v].latent]
            outcome = (sinks or names)[-1]
        elif outcome not in self.ir:
            raise UnknownNameError(f"unknown variable '{outcome}'",
                                   hint=did_you_mean(outcome, names) or "variables are: " + ", ".join(names))
        self._ranges = self._value_ranges()
        self.state = State(outcome)
        # One layout for every state, sized for the longest label, so nodes do not jump on a click.
        g = self.ir.graph
        subs = {v: _widest_sublabel(self.ir[v]) for v in g.nodes}
        self._layout = layered_layout(g, sublabels=subs)
        # ... and one width, that of the fullest legend, so the panel beside the graph does not move.
        self._min_width = legend_width(legend_items([n for n in self.ir.nodes if n.latent], True, True))
        self._edges_cache: dict = {}

        self.graph_view = _graph_widget_class()()
        self.graph_view.on_msg(self._on_msg)
        self.outcome_box = W.Dropdown(options=names, value=outcome, description="outcome",
                                      layout=W.Layout(width="240px"))
        self.outcome_box.observe(self._on_outcome, names="value")
        self.controls = W.VBox([])
        self.reset_button = W.Button(description="reset", tooltip="every variable back to its mechanism",
                                     layout=W.Layout(width="80px"))
        self.reset_button.on_click(lambda _b: self.reset())
        self.help = W.HTML("<small>click a node: observed &rarr; <b>do(&middot;)</b> &rarr; "
                           "<b>conditioned</b> &rarr; observed</small>")
        self.status = W.HTML("")
        self.chart = W.HTML("")
        self.table = W.HTML("")
        side = W.VBox([self.outcome_box, self.help, self.controls, self.reset_button, self.status],
                      layout=W.Layout(min_width="300px"))
        self.widget = W.VBox([W.HBox([self.graph_view, side]), self.chart, self.table])
        self.widget.add_class("cdsl-explorer")
        self._control_widgets: dict = {}
        self._static_ids: list = []  # display ids of the static copies shown (kept up to date)
        self.answers: dict = {}
        self._refresh(controls=True)

    # ------------------------------------------------------------------ public actions
    @property
    def outcome(self) -> str:
        """The variable whose distribution is shown."""
        return self.state.outcome

    @outcome.setter
    def outcome(self, name: str) -> None:
        if name not in self.ir:
            raise UnknownNameError(f"unknown variable '{name}'", hint=did_you_mean(name, self.ir.names))
        self.state = replace(self.state, outcome=name)
        if self.outcome_box.value != name:
            self.outcome_box.value = name  # its observer refreshes
        else:
            self._refresh()

    def click(self, name: str) -> None:
        """Cycle ``name`` between observed, do(·) and conditioned, as a click on its node does."""
        if name not in self.ir or not _free(self.ir[name]):
            raise UnknownNameError(f"no variable '{name}' to click", hint=_held_hint(self.ir, name))
        self.state = cycle(self.state, name, self._default(name))
        self._refresh(controls=True)

    def set(self, name: str, value) -> None:
        """Set the do/conditioned value of ``name`` (a level name or a number), as its control does."""
        if self.state.modes.get(name) is None:
            raise QueryError(f"'{name}' is neither intervened on nor conditioned on",
                             hint=f"click it first: explorer.click('{name}')")
        self.state = with_value(self.state, name, self._code(name, value))
        self._sync_control(name)
        self._refresh()

    def soft(self, name: str, how) -> None:
        """Intervene on ``name`` with a new mechanism instead of a value: ``how`` is what
        ``m.do(name=how)`` takes, ``cd.shift(1)``, ``cd.draw("Bernoulli(0.3)")``, ``"1 - z"``. The
        doing column then asks ``P(y | do(x = x + 1))``, imagining ``P(y[x = x + 1] | ...)``.

        >>> import causaldsl as cd
        >>> m = cd.model("model m {\\n x ~ Bernoulli(0.5)\\n y := x\\n}")
        >>> ex = explore(m, "y"); ex.soft("x", cd.draw("Bernoulli(0.2)"))
        >>> ex.questions()["doing"], round(ex.answers["doing"]["dist"]["1"], 6)
        ('P(y | do(x ~ Bernoulli(0.2)))', 0.2)
        """
        from ..model.interventions import python_regime

        if name not in self.ir or not _free(self.ir[name]):
            raise UnknownNameError(f"no variable '{name}' to intervene on", hint=_held_hint(self.ir, name))
        regime = python_regime(self.ir, name, how)  # checked here: a mistake is refused before any query
        self.state = with_regime(self.state, name, regime.text, self._default(name))
        subs = {v: _widest_sublabel(self.ir[v]) for v in self.ir.graph.nodes}
        subs[name] = max(subs[name], f"do {regime.text}, was 8", key=len)
        self._layout = layered_layout(self.ir.graph, sublabels=subs)
        self._refresh(controls=True)

    def set_fact(self, name: str, value) -> None:
        """Set what ``name`` (a do node) was in fact, for the imagining column (``None``: not observed)."""
        if self.state.modes.get(name) != "do":
            raise QueryError(f"'{name}' is not intervened on", hint=f"click it once: explorer.click('{name}')")
        self.state = with_fact(self.state, name, None if value is None else self._code(name, value))
        self._refresh(controls=True)

    def reset(self) -> None:
        """Every variable back to its mechanism (the outcome stays)."""
        self.state = State(self.state.outcome)
        self._refresh(controls=True)

    def questions(self) -> dict[str, str]:
        """The query text of each setting now."""
        return questions(self.ir, self.state)

    # ------------------------------------------------------------------ values and controls
    def _value_ranges(self) -> dict:
        out = {}
        cont = [n.name for n in self.ir.nodes if n.kind != "fixed" and not n.finite]
        draws = self.model.sample(4000, seed=self.seed) if cont else {}
        for n in self.ir.nodes:
            if n.kind == "fixed":
                continue
            if n.finite:
                out[n.name] = ("finite", tuple(n.domain))
                continue
            d = np.asarray(draws[n.name], dtype=float)
            d = d[np.isfinite(d)]
            from ..model.distributions import FAMILIES

            integer = n.kind == "sample" and FAMILIES[n.family].discrete
            lo, hi = (np.quantile(d, [0.01, 0.99]) if d.size else (-1.0, 1.0))
            mid = float(np.median(d)) if d.size else 0.0
            if integer:
                lo, hi, mid = float(np.floor(lo)), float(np.ceil(hi)), float(round(mid))
            else:  # ends on the slider's grid, so every position is a round number
                step = _step(lo, hi)
                lo, hi = _snap(np.floor(lo / step) * step), _snap(np.ceil(hi / step) * step)
            out[n.name] = ("integer" if integer else "real", (float(lo), float(hi), mid), d)
        return out

    def _default(self, name: str) -> float:
        kind, spec = self._ranges[name][:2]
        if kind == "finite":
            return float(spec[1] if len(spec) > 1 else spec[0])
        return _round(spec[2], spec[0], spec[1])

    def _code(self, name: str, value) -> float:
        node = self.ir[name]
        if isinstance(value, str):
            if node.levels and value in node.levels:
                return float(node.levels.index(value))
            try:
                value = float(value)
            except ValueError:
                raise QueryError(f"'{value}' is not a value of '{name}'",
                                 hint=did_you_mean(value, node.levels or ()) or
                                 ("levels are: " + ", ".join(node.levels) if node.levels else "give a number")) from None
        value = float(value)
        if node.finite and not any(abs(value - d) < 1e-9 for d in node.domain):
            raise QueryError(f"{value:g} is not a value of '{name}'",
                             hint="values are: " + ", ".join(value_text(node, d) for d in node.domain))
        return value

    def _control(self, name: str):
        import ipywidgets as W

        kind, spec = self._ranges[name][:2]
        mode = self.state.modes[name]
        label = f"do({name})" if mode == "do" else f"{name} ="
        value = self.state.values[name]
        style, width = _label_style(label, [value_text(self.ir[name], d) for d in spec] if kind == "finite" else [])
        regime = self.state.regimes.get(name) if mode == "do" else None
        if regime is not None:  # a new mechanism: nothing to slide, it is shown as written
            w = W.HTML(f"<code>do({html.escape(name)} {html.escape(regime)})</code>")
        elif kind == "finite":
            opts = [(value_text(self.ir[name], d), float(d)) for d in spec]
            w = W.Dropdown(options=opts, value=float(value), description=label, style=style,
                           layout=W.Layout(width=width))
        elif kind == "integer":
            w = W.IntSlider(min=int(spec[0]), max=max(int(spec[1]), int(spec[0]) + 1), value=int(value),
                            description=label, style=style, continuous_update=True)
        else:
            lo, hi = spec[0], spec[1]
            step = _step(lo, hi)
            w = W.FloatSlider(min=lo, max=hi, step=step, value=value, description=label, style=style,
                              readout_format=_readout(step), continuous_update=True)
        w.add_class(f"cdsl-control-{name}")
        if regime is None:
            w.observe(lambda change, name=name: self._on_control(name, change["new"]), names="value")
        rows = [w]
        if mode == "do":  # what the variable was in the factual world, for the imagining column
            fact = self.state.facts.get(name)
            if kind == "finite":
                # A Dropdown reads the value None as "nothing selected" (a blank box): a string stands for it.
                opts = [("not observed", NOT_OBSERVED)] + [(value_text(self.ir[name], d), float(d)) for d in spec]
                fw = W.Dropdown(options=opts, value=NOT_OBSERVED if fact is None else fact, description="in fact",
                                style=style, layout=W.Layout(width=width))
                fw.observe(lambda change, name=name: self.set_fact(
                    name, None if change["new"] == NOT_OBSERVED else change["new"]), names="value")
                rows.append(fw)
            else:
                seen = W.Checkbox(value=fact is not None, description="observed in fact", indent=False,
                                  layout=W.Layout(width=width))
                seen.observe(lambda change, name=name: self.set_fact(
                    name, self._default(name) if change["new"] else None), names="value")
                rows.append(seen)
                if fact is not None:
                    fw = (W.IntSlider(min=int(spec[0]), max=max(int(spec[1]), int(spec[0]) + 1), value=int(fact),
                                      description="in fact", style=style) if kind == "integer" else
                          W.FloatSlider(min=spec[0], max=spec[1], step=_step(spec[0], spec[1]), value=fact,
                                        description="in fact", style=style,
                                        readout_format=_readout(_step(spec[0], spec[1]))))
                    fw.observe(lambda change, name=name: self._on_fact(name, change["new"]), names="value")
                    rows.append(fw)
        return W.VBox(rows)

    def _sync_control(self, name: str) -> None:
        box = self._control_widgets.get(name)
        if box is not None and name not in self.state.regimes:
            w = box.children[0]
            v = self.state.values[name]
            if w.value != v:
                self._muted = True
                try:
                    w.value = int(v) if hasattr(w, "step") and isinstance(w.step, int) else v
                finally:
                    self._muted = False

    _muted = False

    def _on_control(self, name: str, value) -> None:
        if self._muted or self.state.modes.get(name) is None:
            return
        self.state = with_value(self.state, name, _snap(value))
        self._refresh()

    def _on_fact(self, name: str, value) -> None:
        if self.state.modes.get(name) != "do":
            return
        self.state = with_fact(self.state, name, _snap(value))
        self._refresh()  # the control stays: only its value moved

    def _on_outcome(self, change) -> None:
        self.state = replace(self.state, outcome=change["new"])
        self._refresh()

    def _on_msg(self, _widget, content, _buffers) -> None:
        if isinstance(content, dict) and content.get("event") == "click":
            name = content.get("node")
            if name in self.ir and _free(self.ir[name]):
                self.click(name)

    # ------------------------------------------------------------------ drawing
    def _graph_svg(self) -> str:
        ir, st = self.ir, self.state
        dos = {n for n, m in st.modes.items() if m == "do"}
        obs = [n for n, m in st.modes.items() if m == "observe"]
        fixed = {n.name for n in ir.nodes if n.kind == "fixed"}
        held = {n.name for n in ir.nodes if n.regime is not None}  # given a new mechanism by m.do(...)
        shown = {n: (f"{st.regimes[n]}" if n in st.regimes else f"= {value_text(ir[n], st.values[n])}")
                 for n in dos}
        sub = {n: (f"do {shown[n] if n in st.regimes else shown[n][2:]}, was {value_text(ir[n], st.facts[n])}"
                   if st.facts.get(n) is not None else f"do {shown[n]}") for n in dos}
        sub.update({n: "= " + value_text(ir[n], st.values[n]) for n in obs})
        sub.update({n: "do = " + value_text(ir[n], ir[n].value) for n in fixed})
        sub.update({n: f"do {ir[n].regime}" for n in held if n not in dos})
        edges = [(p, n.name) for n in ir.nodes for p in n.parents if n.name not in dos]
        edges += [(p, n) for n in st.regimes for p in self._regime_parents(n)]
        return draw_graph(ir.names, edges, latent=[n.name for n in ir.nodes if n.latent],
                          intervened=dos | fixed | held, observed=obs, sublabels=sub, layout=self._layout,
                          title=f"{ir.name}: outcome {st.outcome}", css_class="cdsl-graph cdsl-explorer-svg",
                          min_width=self._min_width)

    def _regime_parents(self, name: str) -> list[str]:
        """The arrows into ``name`` under its new mechanism: from what it reads, and, where it reads
        its own natural value (a shift), from its own parents."""
        from ..model.interventions import python_regime

        regime = python_regime(self.ir, name, self.state.regimes[name].lstrip("= ")
                               if self.state.regimes[name].startswith("=") else self.state.regimes[name])
        reads = [v for v in regime.inputs() if v != name]
        own = list(self.ir[name].parents) if regime.reads(name) else []
        return list(dict.fromkeys(own + reads))

    def _edges_for(self, outcome: str):
        node = self.ir[outcome]
        if node.finite:
            return None
        if outcome not in self._edges_cache:
            from ..model.distributions import FAMILIES

            integer = node.kind == "sample" and FAMILIES[node.family].discrete
            self._edges_cache[outcome] = _bins(self._ranges[outcome][2], integer)
        return self._edges_cache[outcome]

    def _refresh(self, controls: bool = False) -> None:
        t0 = time.perf_counter()
        if controls:
            self._control_widgets = {n: self._control(n) for n in self.ir.names if n in self.state.modes}
            self.controls.children = tuple(self._control_widgets.values())
        texts = questions(self.ir, self.state)
        edges = self._edges_for(self.state.outcome)
        compile_all(self.model, texts.values(), edges, self.samples, self.seed, self._cache)
        done: dict = {}
        answers = {}
        for s in SETTINGS:  # identical questions are asked once
            t = texts[s]
            if t not in done:
                done[t] = answer(self.model, t, edges, samples=self.samples, seed=self.seed, cache=self._cache)
            answers[s] = done[t]
        self.answers = answers
        self.graph_view.svg = self._graph_svg()
        self.chart.value = self._chart_svg(edges)
        self.table.value = self._table_html()
        self.last_update_ms = 1000 * (time.perf_counter() - t0)
        self.status.value = (f'<small class="cdsl-explorer-status" data-ms="{self.last_update_ms:.1f}">'
                             f"updated in {self.last_update_ms:.0f} ms; compiled programs: "
                             f"{self.compilations}</small>")
        self._update_static()

    @property
    def compilations(self) -> int:
        """How many query programs the explorer has compiled (new values reuse them)."""
        return self.model.compilations + sum(1 for k in self._cache if k[0] == "hist")

    def _labels(self) -> list[str]:
        node = self.ir[self.state.outcome]
        return [value_text(node, d) for d in node.domain]

    def _chart_svg(self, edges) -> str:
        from ..engines.dispatch import LEVEL

        y = self.state.outcome
        distinct = _distinct(self.answers)
        title = f"distribution of {y}"
        if edges is None:
            levels = self._labels()
            series = {s: ([a["dist"].get(lv, 0.0) for lv in levels] if "dist" in a else None)
                      for s, a in distinct.items()}
            errs = {s: ([a["stderrs"].get(lv, 0.0) for lv in levels] if a.get("stderrs") else None)
                    for s, a in distinct.items()}
            if any("intervals" in a for a in distinct.values()):  # over a posterior
                ivs = {s: ([a["intervals"][lv] for lv in levels] if "intervals" in a else None)
                       for s, a in distinct.items()}
                bars = bars_svg(levels, series, intervals=ivs,
                                title=f"{title}: posterior mean, {LEVEL:.0%} credible interval")
                lv = levels[-1]
                draws = {s: a["draws"][lv] for s, a in distinct.items() if "draws" in a}
                return _side_by_side(bars, _posterior_histograms(draws, {s: a["dist"][lv] for s, a in distinct.items()
                                                                         if "draws" in a},
                                                                 {s: a["intervals"][lv] for s, a in distinct.items()
                                                                  if "draws" in a}, f"P({y} = {lv})"))
            return bars_svg(levels, series, errors=errs, title=title, notes=_same_as(series))
        if any("density" in a for a in distinct.values()):
            series = {s: (list(a["density"]) if "density" in a else None) for s, a in distinct.items()}
            means = {s: a.get("mean") for s, a in distinct.items()}
            if any("draws" in a for a in distinct.values()):  # over a posterior
                pred = histograms_svg(list(edges), series, means=means, xlabel=y,
                                      title=f"{title} (posterior predictive)")
                draws = {s: a["draws"] for s, a in distinct.items() if "draws" in a}
                return _side_by_side(pred, _posterior_histograms(
                    draws, {s: a["mean"] for s in draws for a in (distinct[s],)},
                    {s: distinct[s]["interval"] for s in draws}, f"E[{y}]"))
            return histograms_svg(list(edges), series, means=means, title=title, xlabel=y,
                                  notes=_same_as(series), outside={s: a["outside"] for s, a in distinct.items()
                                                                   if "outside" in a})
        return ""

    def _table_html(self) -> str:
        rows = []
        names = {s: s for s in SETTINGS}
        seen: dict = {}
        for i, s in enumerate(SETTINGS):
            a = self.answers[s]
            same = seen.get(a["query"])
            seen.setdefault(a["query"], s)
            colour = PALETTE[list(_distinct(self.answers)).index(same or s) % len(PALETTE)]
            if "error" in a:
                val, err, method = f'<span style="color:#b91c1c">{html.escape(a["error"])}</span>', "-", "-"
                num = ""
            elif "dist" in a:
                ivs = a.get("intervals") or {}  # over a posterior: each probability's credible interval
                val = ", ".join(f"{html.escape(k)}: {v:.4f}" + (f" [{ivs[k][0]:.4f}, {ivs[k][1]:.4f}]" if k in ivs else "")
                                for k, v in a["dist"].items())
                errs = a.get("stderrs")
                err = ", ".join(stderr_text(v) for v in errs.values()) if errs else "-"
                method = a["method"]
                num = " ".join(f'data-p-{html.escape(k)}="{v:.10g}"' for k, v in a["dist"].items())
            else:
                val = f"{a['mean']:.4f}"
                if a.get("interval") is not None:
                    lo, hi = a["interval"]
                    val += f" [{lo:.4f}, {hi:.4f}]"
                err = stderr_text(a.get("stderr"), a["mean"])
                method = a["method"]
                num = f'data-mean="{a["mean"]:.10g}"'
            note = f" <small>(same as {same})</small>" if same else ""
            rows.append(f'<tr class="cdsl-answer" data-setting="{s}" {num}>'
                        f'<td style="text-align:left;padding:2px 10px"><span style="color:{colour}">&#9632;</span> '
                        f"<b>{names[s]}</b>{note}</td>"
                        f'<td style="text-align:left;padding:2px 10px"><code>{html.escape(a["query"])}</code></td>'
                        f'<td style="text-align:left;padding:2px 10px" class="cdsl-value">{val}</td>'
                        f'<td style="text-align:left;padding:2px 10px">{err}</td><td style="text-align:left;padding:2px 10px">{html.escape(method)}</td></tr>')
        head = "".join(f'<th style="text-align:left;padding:2px 10px">{h}</th>' for h in ("", "query", "answer", "s.e.", "method"))
        return (f'<table class="cdsl-explorer-answers"><thead><tr>{head}</tr></thead>'
                f"<tbody>{''.join(rows)}</tbody></table>")

    # ------------------------------------------------------------------ display
    def static_html(self) -> str:
        """The explorer as it stands, as static HTML (graph, chart, table: inline SVG, no script)."""
        return (f'<div class="cdsl-output cdsl-explorer-static">{STATIC_CSS}'
                f'<div style="display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start">'
                f"{self._graph_svg()}{self.chart.value}</div>{self.table.value}"
                '<small style="opacity:0.7">a static copy of the explorer: run the cell to explore</small></div>')

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        bundle = self.widget._repr_mimebundle_(include=include, exclude=exclude) or {}
        # A static copy for nbviewer, GitHub and exports, where no kernel runs the widget.
        bundle["text/html"] = self.static_html()
        bundle["text/plain"] = repr(self)
        return bundle

    def _ipython_display_(self) -> None:
        """Two outputs: the static copy, then the live widget.

        JupyterLab renders a bundle by its richest type only, so a saved widget
        whose kernel is gone shows "model not found" however the bundle is
        filled. The static copy is therefore an output of its own, kept up to
        date (a display id) and hidden by :data:`STATIC_CSS` while the live
        widget renders after it; without the widget it shows, and the failed
        widget output is hidden. Exports without widget state drop the widget
        output and keep the copy.
        """
        from IPython.display import display

        handle = display(self._static_bundle(), raw=True, display_id=True)
        if handle is not None:
            self._static_ids.append(handle.display_id)
        widget = self.widget._repr_mimebundle_() or {}
        widget.pop("text/html", None)  # the copy is the output above: not twice in an export
        widget["text/plain"] = repr(self)
        display(widget, raw=True)

    def _static_bundle(self) -> dict:
        return {"text/html": self.static_html(), "text/plain": repr(self)}

    def _update_static(self) -> None:
        from IPython import get_ipython

        if self._static_ids and get_ipython() is not None:  # shown in a kernel that is still this one's
            from IPython.display import update_display

            bundle = self._static_bundle()
            for i in self._static_ids:
                update_display(bundle, raw=True, display_id=i)

    def __repr__(self) -> str:
        lines = [f"<Explorer of {self.ir.name}: outcome {self.state.outcome}>"]
        for s in SETTINGS:
            a = self.answers.get(s, {})
            if "error" in a:
                shown = "error: " + a["error"]
            elif "dist" in a:
                shown = ", ".join(f"{k}: {v:.4f}" for k, v in a["dist"].items())
            else:
                shown = f"{a.get('mean', float('nan')):.4f}" + (
                    f" ± {stderr_text(a['stderr'], a.get('mean', 1.0))}" if a.get("stderr") is not None else "")
            lines.append(f"  {s:9s} {a.get('query', '')}  ->  {shown}")
        return "\n".join(lines)


NOT_OBSERVED = "not observed"


def _free(node) -> bool:
    """Whether a node of the explored model is left to its own mechanism (clickable): not held by
    ``do`` at a value or under a new mechanism, and not the natural value ``x'`` one reads."""
    return node.kind != "fixed" and getattr(node, "regime", None) is None and not node.name.endswith("'")


def _held_hint(ir, name: str) -> str:
    """The hint for a click on what cannot be clicked: a name not in the model, or one its own
    intervention holds (explore the model before ``m.do(...)`` to intervene on it here)."""
    if name in ir:
        node = ir[name]
        how = node.describe() if node.kind == "fixed" or node.regime is not None else f"{name}'s natural value"
        return f"'{name}' is held by the model's intervention ({how}): explore the model before m.do(...) to click it"
    return did_you_mean(name, ir.names) or "variables are: " + ", ".join(ir.names)


def _widest_sublabel(node) -> str:
    """The longest second line a node can get (``do 1, was 0`` with its longest level), to size its shape.

    >>> from types import SimpleNamespace as N
    >>> _widest_sublabel(N(finite=True, domain=(0.0, 1.0), levels=("low", "a_long_level")))
    'do a_long_level, was a_long_level'
    >>> _widest_sublabel(N(finite=False, domain=None, levels=None))
    'do = 88.888'
    """
    if not node.finite:
        return "do = 88.888"
    widest = max((value_text(node, d) for d in node.domain), key=len, default="")
    return f"do {widest}, was {widest}"


def _same_as(series: Mapping) -> dict:
    """Legend notes for series equal to an earlier one (``{"imagining": "= doing"}``): drawn on top, they hide it.

    >>> _same_as({"seeing": [0.5, 0.5], "doing": [0.2, 0.8], "imagining": [0.2, 0.8 + 1e-15]})
    {'imagining': '= doing'}
    """
    out, names = {}, [k for k, v in series.items() if v is not None]
    for i, k in enumerate(names):
        a = np.asarray(series[k], float)
        for j in names[:i]:
            b = np.asarray(series[j], float)
            if a.shape == b.shape and np.allclose(a, b, rtol=1e-9, atol=1e-12):
                out[k] = f"= {j}"
                break
    return out


def _label_style(label: str, options: list) -> tuple[dict, str]:
    """A control's description style and width, wide enough for its label and its longest option.

    >>> _label_style("do(x)", ["0", "1"])
    ({'description_width': '90px'}, '260px')
    >>> _label_style("do(a_rather_long_name)", [])[0]
    {'description_width': '170px'}
    """
    label_w = max(90, int(7.5 * len(label)) + 5)
    option_w = max([160] + [int(8 * len(o)) + 40 for o in options])
    return {"description_width": f"{label_w}px"}, f"{max(260, label_w + option_w + 10)}px"


def _posterior_histograms(draws: dict, means: dict, intervals: dict, what: str) -> str:
    """Each setting's posterior of ``what`` (its per-draw values) as a histogram on shared bins,
    its mean dashed and its credible interval as a band."""
    from ..engines.dispatch import LEVEL
    from ..engines.results import histogram

    pooled = np.concatenate([np.ravel(d) for d in draws.values()])
    # Bins fine enough for the narrowest posterior (about 8 across its central 95%), even when the
    # settings' posteriors lie far apart on the shared axis.
    spread = min(float(np.subtract(*np.quantile(np.ravel(d), [0.975, 0.025]))) for d in draws.values())
    span = float(np.ptp(pooled))
    bins = int(np.clip(np.ceil(8 * span / spread), 24, 150)) if spread > 0 else 24
    edges, _ = histogram(pooled, bins=bins)
    series = {s: np.histogram(np.ravel(d), edges, density=True)[0].tolist() for s, d in draws.items()}
    return histograms_svg(list(edges), series, means=means, intervals=intervals, xlabel=what,
                          title=f"posterior of {what}, {LEVEL:.0%} credible interval", ylabel="posterior density")


def _side_by_side(*svgs: str) -> str:
    return ('<div class="cdsl-explorer-charts" style="display:flex;flex-wrap:wrap;gap:12px">'
            + "".join(svgs) + "</div>")


def _distinct(answers: dict) -> dict:
    """The settings with distinct questions (the first setting of each), in order."""
    out, seen = {}, set()
    for s in SETTINGS:
        q = answers[s]["query"]
        if q not in seen:
            seen.add(q)
            out[s] = answers[s]
    return out


def _step(lo: float, hi: float) -> float:
    """A slider step: about a hundredth of the range, rounded to 1, 2 or 5 times a power of ten.

    >>> _step(-2.0, 2.0), _step(0.0, 1.0)
    (0.05, 0.01)
    """
    import math

    raw = (hi - lo) / 100 if hi > lo else 0.01
    p = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if m * p >= raw * (1 - 1e-9):
            return float(f"{m * p:.12g}")
    return 10 * p  # pragma: no cover


def _snap(v) -> float:
    """``v`` without the binary noise of slider arithmetic (12 significant digits).

    >>> _snap(0.1 + 0.2)
    0.3
    """
    return float(f"{float(v):.12g}")


def _readout(step: float) -> str:
    """A slider readout format with as many decimals as the step has.

    >>> _readout(0.05), _readout(1.0)
    ('.2f', '.0f')
    """
    import math

    return f".{max(0, -math.floor(math.log10(step) + 1e-9))}f"


def _round(v: float, lo: float, hi: float) -> float:
    s = _step(lo, hi)
    return float(f"{round(v / s) * s:.12g}")


def explore(model, outcome: Optional[str] = None, *, samples: int = 20_000, seed: int = 0) -> Explorer:
    """Open the explorer of ``model``: the graph, controls, and the outcome's distribution at the three rungs.

    ``outcome`` defaults to the last observed sink of the graph. ``samples`` and
    ``seed`` set the Monte Carlo draws of models that need them.

    >>> import causaldsl as cd
    >>> ex = cd.explore(cd.model("model m {\\n x ~ Normal(0, 1)\\n y ~ Normal(2 * x, 1)\\n}"), samples=4000)
    >>> ex.click("x"); ex.set("x", 1.0)
    >>> abs(ex.answers["doing"]["mean"] - 2.0) < 5 * ex.answers["doing"]["stderr"]
    True
    """
    return Explorer(model, outcome, samples=samples, seed=seed)
