"""The notebook experience, proven in a real browser: JupyterLab + headless Chromium, driven by Playwright.

One JupyterLab server (127.0.0.1, a token, settings and workspaces in a
temporary folder) serves a copy of tutorial 5. Chromium opens it, runs every
cell, and then, as a student would:

* checks that the explorer widget drew the graph;
* clicks the node ``x`` (it becomes ``do(x)``: a double box, the arrow into it gone);
* moves the slider of ``x`` with the keyboard and checks that the answers shown
  changed to the closed forms at the slider's new value (doing ``2x``, seeing
  ``2.7317 x``), and measures how long the page took to show them;
* checks that the ``%%causal`` cell, and a ``.causal`` file, are highlighted with
  the DSL's token classes (``cdsl-keyword``, ``cdsl-distribution``, ...);
* adds a cell with a mistake, runs it, and checks the clean error (line, column,
  caret, hint; no Python traceback) and that the cell counts as failed.

Screenshots go to ``build/screenshots/`` (or ``$CAUSALDSL_SCREENSHOTS``). Needs
``/usr/bin/chromium`` (Debian's package; ``.ci/run`` installs it) and the
``playwright`` package; never ``playwright install``. Set
``CAUSALDSL_REQUIRE_BROWSER=1`` to fail instead of skipping where Chromium is missing.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("CAUSALDSL_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
TOKEN = "causaldsl-browser-test"
SEEING_SLOPE = 2 + 1.5 * 0.8 / 1.64   # E[y | x = a] = 2.7317 a in tutorial 5's linear-Gaussian model


def _need_browser():
    if not Path(CHROMIUM).exists():
        msg = f"no Chromium at {CHROMIUM} (apt-get install -y chromium)"
        if os.environ.get("CAUSALDSL_REQUIRE_BROWSER", "") not in ("", "0"):
            pytest.fail(msg)
        pytest.skip(msg, allow_module_level=True)


_need_browser()
sync_api = pytest.importorskip("playwright.sync_api")
pytest.importorskip("jupyterlab")

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on a copy of the tutorials; yields its base URL."""
    home = tmp_path_factory.mktemp("lab")
    notebooks = home / "notebooks"
    shutil.copytree(ROOT / "tutorials", notebooks)
    settings = home / "settings"
    # Every cell in the page (no virtual scrolling), so the test can find any cell's output.
    tracker = settings / "@jupyterlab" / "notebook-extension"
    tracker.mkdir(parents=True)
    (tracker / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    news = settings / "@jupyterlab" / "apputils-extension"
    news.mkdir(parents=True)
    (news / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false",
                                                                         "checkForUpdates": False}))
    kernels = home / "jupyter" / "kernels" / "python3"
    kernels.mkdir(parents=True)
    (kernels / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (causaldsl tests)", "language": "python"}))
    port = _free_port()
    env = dict(os.environ)
    env.update({
        "CAUSALDSL_FAST": "1",
        "JUPYTER_PATH": str(home / "jupyter") + os.pathsep + env.get("JUPYTER_PATH", ""),
        "JUPYTERLAB_SETTINGS_DIR": str(settings),
        "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "XLA_PYTHON_CLIENT_PREALLOCATE": "false",
        "PYTHONPATH": os.pathsep.join([str(ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])),
    })
    log = open(home / "lab.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root", "--ip=127.0.0.1",
         f"--port={port}", f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={notebooks}",
         "--LabApp.expose_app_in_browser=True", "--ServerApp.disable_check_xsrf=False"],
        cwd=notebooks, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while True:
        try:
            urllib.request.urlopen(f"{url}/api/status?token={TOKEN}", timeout=2)
            break
        except Exception:
            if proc.poll() is not None or time.time() > deadline:
                log.flush()
                pytest.fail("JupyterLab did not start:\n" + (home / "lab.log").read_text()[-3000:])
            time.sleep(0.5)
    yield url
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
    log.close()


@pytest.fixture(scope="module")
def shots() -> Path:
    out = Path(os.environ.get("CAUSALDSL_SCREENSHOTS", ROOT / "build" / "screenshots"))
    out.mkdir(parents=True, exist_ok=True)
    return out


ALL_RAN = """() => {
  const nb = window.jupyterapp.shell.currentWidget;
  if (!nb || !nb.content || !nb.sessionContext.session) return false;
  const kernel = nb.sessionContext.session.kernel;
  const cells = nb.content.widgets.filter(c => c.model.type === "code");
  return kernel && kernel.status === "idle" && cells.length > 0 &&
         cells.every(c => c.model.executionCount !== null && !c.node.classList.contains("jp-mod-pending"));
}"""

ERRORS = """() => {
  const nb = window.jupyterapp.shell.currentWidget;
  const out = [];
  nb.content.widgets.forEach((c, i) => {
    if (c.model.type !== "code") return;
    for (const o of c.model.outputs.toJSON()) if (o.output_type === "error") out.push([i, o.ename, o.evalue]);
  });
  return out;
}"""


def _browse(lab: str, fn, *args):
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1100})
            _open(page, lab, "05_continuous_widgets.ipynb")
            fn(page, *args)
        finally:
            browser.close()


def _open(page, lab: str, name: str) -> None:
    page.goto(f"{lab}/lab/tree/{name}?token={TOKEN}")
    page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=120_000)
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget && "
                           "window.jupyterapp.shell.currentWidget.sessionContext.session && "
                           "window.jupyterapp.shell.currentWidget.sessionContext.session.kernel && "
                           "window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status === 'idle'",
                           timeout=120_000)


def lab_url(page) -> str:
    """The server's base URL, from the page that is open."""
    return page.url.split("/lab")[0]


def test_causal_cells_are_highlighted(lab, shots):
    _browse(lab, _highlighting, shots)


def test_tutorial_runs_and_the_explorer_answers(lab, shots):
    _browse(lab, _run_and_explore, shots)


def _highlighting(page, shots: Path) -> None:
    # ---------------------------------------------------------------- highlighting, before any output moves things
    magic = page.locator(".jp-CodeCell", has_text="%%causal lg2").first
    magic.scroll_into_view_if_needed()
    page.wait_for_function("""() => {
        const cell = [...document.querySelectorAll('.jp-CodeCell')].find(c => c.innerText.includes('%%causal lg2'));
        return cell && cell.querySelector('.cm-content .cdsl-keyword') && cell.querySelector('.cm-content .cdsl-distribution');
    }""", timeout=60_000)
    tokens = magic.evaluate("""c => {
        const out = {};
        for (const s of c.querySelectorAll('.cm-content [class*="cdsl-"]'))
            for (const k of s.classList) if (k.startsWith('cdsl-')) (out[k] = out[k] || []).push(s.textContent);
        return out;
    }""")
    assert "model" in tokens.get("cdsl-keyword", []), tokens
    assert "Normal" in tokens.get("cdsl-distribution", []), tokens
    assert any("%%causal" in t for t in tokens.get("cdsl-magic", [])), tokens
    assert "E" in tokens.get("cdsl-query", []) and "do" in tokens.get("cdsl-keyword", []), tokens
    # An ordinary Python cell is not switched to the DSL.
    plain = page.locator(".jp-CodeCell", has_text="import math").first
    assert plain.locator(".cm-content .cdsl-keyword").count() == 0
    magic.screenshot(path=str(shots / "highlighted_cell.png"))

    # A .causal file opens in the file editor as the causaldsl language.
    page.goto(f"{lab_url(page)}/lab/tree/smoking.causal?token={TOKEN}")
    page.wait_for_selector(".jp-FileEditor .cm-content .cdsl-keyword", timeout=60_000)
    editor = page.locator(".jp-FileEditor .cm-content").first
    assert editor.get_attribute("data-language") == "causal"
    words = editor.evaluate("""e => [...e.querySelectorAll('.cdsl-distribution')].map(s => s.textContent)""")
    assert "Bernoulli" in words, words
    page.locator(".jp-FileEditor").first.screenshot(path=str(shots / "highlighted_file.png"))


def _run_and_explore(page, shots: Path) -> None:
    # ---------------------------------------------------------------- run every cell
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_function(ALL_RAN, timeout=600_000, polling=500)
    assert page.evaluate(ERRORS) == []

    # ---------------------------------------------------------------- the explorer rendered
    graph = page.locator(".cdsl-explorer-graph").first
    graph.wait_for(timeout=60_000)
    graph.scroll_into_view_if_needed()
    for v in ("x", "y", "z"):
        assert graph.locator(f'[data-node="{v}"]').count() == 1
    assert graph.locator('[data-source="z"][data-target="x"]').count() == 1
    explorer = page.locator(".cdsl-explorer").first
    explorer.screenshot(path=str(shots / "explorer_initial.png"))

    # ---------------------------------------------------------------- click x: do(x)
    graph.locator('[data-node="x"]').click()
    page.wait_for_selector('.cdsl-explorer-graph [data-node="x"][data-mode="do"]', timeout=60_000)
    assert graph.locator('[data-target="x"]').count() == 0       # arrows into x removed
    handle = explorer.locator(".cdsl-control-x .noUi-handle").first
    handle.wait_for(timeout=60_000)

    def shown():
        return page.evaluate("""() => {
            const row = s => document.querySelector(`.cdsl-explorer-answers tr[data-setting="${s}"]`);
            const r = {}; for (const s of ['seeing', 'doing', 'imagining']) {
                const el = row(s); r[s] = el && el.dataset.mean !== undefined ? parseFloat(el.dataset.mean) : null;
                r[s + '_q'] = el ? el.querySelector('code').textContent : null; }
            const ro = document.querySelector('.cdsl-control-x .widget-readout');
            r.readout = ro ? parseFloat(ro.textContent) : null;
            return r; }""")

    page.wait_for_function("() => { const r = document.querySelector('.cdsl-explorer-answers tr[data-setting=\"doing\"] code');"
                           " return r && r.textContent.includes('do(x'); }", timeout=60_000)
    start = shown()
    # ---------------------------------------------------------------- move the slider with the keyboard
    handle.focus()
    presses = 20
    t0 = time.perf_counter()
    for _ in range(presses):
        page.keyboard.press("ArrowRight")
    page.wait_for_function("""(start) => {
        const ro = document.querySelector('.cdsl-control-x .widget-readout');
        const row = document.querySelector('.cdsl-explorer-answers tr[data-setting="doing"]');
        if (!ro || !row) return false;
        const x = parseFloat(ro.textContent);
        return x > start + 1e-9 && row.querySelector('code').textContent.includes('do(x = ' + x.toString().slice(0, 3));
    }""", arg=start["readout"], timeout=60_000, polling=50)
    # The kernel may still be working through the queued moves: wait until the table settles.
    last, same_since = None, time.perf_counter()
    while time.perf_counter() - same_since < 1.5:
        now = shown()
        if now != last:
            last, same_since = now, time.perf_counter()
        time.sleep(0.05)
    elapsed = same_since - t0
    x = last["readout"]
    assert x > start["readout"], (start, last)
    assert last["doing_q"] == f"E[y | do(x = {x:g})]", last        # the answer shown is for the value shown
    assert abs(last["doing"] - 2 * x) < 0.08, last                     # E[y | do(x)] = 2x (s.e. about 0.011)
    assert abs(last["seeing"] - SEEING_SLOPE * x) < 0.12, last         # E[y | x] = 2.7317 x
    ms = float(page.locator(".cdsl-explorer-status").first.get_attribute("data-ms"))
    (shots / "explorer_timing.json").write_text(json.dumps({
        "slider_presses": presses, "seconds_until_settled": elapsed, "last_kernel_update_ms": ms,
        "final_x": x, "doing": last["doing"], "seeing": last["seeing"]}, indent=1))
    explorer.screenshot(path=str(shots / "explorer_after_slider.png"))

    # ---------------------------------------------------------------- a broken cell: the clean error
    page.evaluate("""async () => {
        const app = window.jupyterapp, nb = app.shell.currentWidget.content;
        nb.activeCellIndex = nb.widgets.length - 1;
        await app.commands.execute('notebook:insert-cell-below');
        nb.activeCell.model.sharedModel.setSource('%%causal\\nmodel broken {\\n    x ~ Bernoulli(1.5)\\n}');
        await app.commands.execute('notebook:run-cell');
    }""")
    page.wait_for_function("""() => {
        const nb = window.jupyterapp.shell.currentWidget.content;
        const c = nb.widgets[nb.widgets.length - 1];
        return c.model.outputs.toJSON().some(o => o.output_type === 'error');
    }""", timeout=120_000)
    err = page.evaluate("""() => {
        const nb = window.jupyterapp.shell.currentWidget.content;
        const c = nb.widgets[nb.widgets.length - 1];
        c.node.scrollIntoView();
        const o = c.model.outputs.toJSON().find(o => o.output_type === 'error');
        const shown = c.node.querySelector('.jp-OutputArea-output');
        return {ename: o.ename, traceback: o.traceback.join('\\n'), shown: shown ? shown.innerText : ''};
    }""")
    shown_text = err["shown"]
    assert err["ename"] == "ProbabilityError", err
    assert "Traceback" not in shown_text and 'File "' not in shown_text, shown_text
    lines = shown_text.splitlines()
    head = next(ln for ln in lines if "line 3, column" in ln)
    assert head.startswith("ProbabilityError: line 3, column"), shown_text
    src = lines.index("    x ~ Bernoulli(1.5)")
    assert set(lines[src + 1].strip()) == {"^"}, shown_text
    assert any(ln.startswith("hint:") for ln in lines), shown_text
    page.locator(".jp-CodeCell").last.screenshot(path=str(shots / "clean_error.png"))
    page.screenshot(path=str(shots / "notebook.png"), full_page=True)


# ------------------------------------------------------------------ posteriors, drawn (issue 21)
POSTERIOR_CELLS = [
    "%load_ext causaldsl",
    '%%causal\nmodel kidney {\n    param p_large ~ Beta(1, 1)\n    size ~ Categorical(small: 1 - p_large, large: p_large)\n'
    "    param p_a[size] ~ Beta(1, 1)\n    treatment ~ Categorical(A: p_a[size], B: 1 - p_a[size])\n"
    "    param p_ok[treatment, size] ~ Beta(1, 1)\n    recovery ~ Bernoulli(p_ok[treatment, size])\n}\n"
    'fit kidney to "kidney.csv", chains = 2, draws = 300, warmup = 200\n'
    "P(recovery = 1 | do(treatment = A))",
    'ex = kidney.explore(outcome="recovery")\nex.click("treatment")\nex',
]

# The posterior picture of the fit cell, and the explorer's charts: what the page shows.
POSTERIOR_SHOWN = """() => {
  const nb = window.jupyterapp.shell.currentWidget.content;
  const cells = nb.widgets.slice(-2);
  const fitCell = cells[0].node, exCell = cells[1].node;
  const chart = fitCell.querySelector('svg.cdsl-answer-chart');
  const iv = chart && chart.querySelector('.cdsl-interval');
  const title = chart && chart.querySelector('text');
  const exIvs = [...exCell.querySelectorAll('.cdsl-explorer-charts .cdsl-interval')];
  const stderr = fitCell.querySelectorAll('[data-mime-type="application/vnd.jupyter.stderr"]').length;
  const status = fitCell.querySelector('.cdsl-fit-status');
  return {chart: !!chart, lo: iv ? parseFloat(iv.dataset.lo) : null, hi: iv ? parseFloat(iv.dataset.hi) : null,
          titleFill: title ? getComputedStyle(title).fill : null, stderr, status: status ? status.innerText : null,
          explorerIntervals: exIvs.length, explorerHist: exCell.querySelectorAll('.cdsl-explorer-charts .cdsl-hist').length,
          background: getComputedStyle(document.body).backgroundColor};
}"""


def _brightness(css: str) -> float:
    """Mean of the r, g, b of a CSS ``rgb(...)`` colour, 0-255."""
    nums = [float(x) for x in css[css.index("(") + 1:css.index(")")].split(",")[:3]]
    return sum(nums) / 3


def _fitted_posteriors(page, shots: Path) -> None:
    page.evaluate("""async (cells) => {
        const app = window.jupyterapp, nb = app.shell.currentWidget.content;
        for (const src of cells) {
            nb.activeCellIndex = nb.widgets.length - 1;
            await app.commands.execute('notebook:insert-cell-below');
            nb.activeCell.model.sharedModel.setSource(src);
            await app.commands.execute('notebook:run-cell');
        }
    }""", POSTERIOR_CELLS)
    page.wait_for_function("""() => {
        const nb = window.jupyterapp.shell.currentWidget.content;
        const c = nb.widgets[nb.widgets.length - 1];
        return c.model.executionCount !== null && c.node.querySelector('.cdsl-explorer-charts .cdsl-interval');
    }""", timeout=600_000, polling=500)
    assert page.evaluate(ERRORS) == []
    light = page.evaluate(POSTERIOR_SHOWN)
    assert light["chart"] and light["stderr"] == 0, light               # no pink NUTS bar
    assert light["status"] and light["status"].startswith("fitted kidney in"), light
    # the interval drawn is the one printed (Beta posteriors: about 0.78 to 0.87 for A, as in tutorial 1)
    assert 0.7 < light["lo"] < light["hi"] < 0.95, light
    assert light["explorerIntervals"] >= 4 and light["explorerHist"] >= 2, light
    cells = page.locator(".jp-CodeCell")
    fit_cell, ex_cell = cells.nth(cells.count() - 2), cells.last
    fit_cell.scroll_into_view_if_needed()
    fit_cell.locator(".jp-OutputArea").screenshot(path=str(shots / "posterior_cell_light.png"))
    ex_cell.locator(".cdsl-explorer-charts").screenshot(path=str(shots / "posterior_explorer_light.png"))

    page.evaluate("window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Dark'})")
    page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'", timeout=60_000)
    time.sleep(1.0)
    dark = page.evaluate(POSTERIOR_SHOWN)
    assert _brightness(dark["titleFill"]) > 150, dark  # the chart's text follows the theme: light on dark
    assert _brightness(light["titleFill"]) < 100, light
    fit_cell.locator(".jp-OutputArea").screenshot(path=str(shots / "posterior_cell_dark.png"))
    ex_cell.locator(".cdsl-explorer-charts").screenshot(path=str(shots / "posterior_explorer_dark.png"))
    page.evaluate("window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Light'})")


def test_a_fitted_posterior_is_drawn_in_the_cell_and_in_the_explorer(lab, shots):
    _browse(lab, _fitted_posteriors, shots)
