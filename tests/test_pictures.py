"""Pictures everywhere: models, intervened models, graphs and fitted models draw themselves; files; themes; the explorer's static copy and polish.

The drawings are read back as XML (every arrowhead's marker found in the same
drawing), the edges compared with edge lists written here, and numbers (the
histogram's tails) with closed forms.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import causaldsl as cd
from causaldsl.language.errors import CausalDSLError
from causaldsl.notebook.pictures import ExportError, query_pictures
from causaldsl.notebook.theme import resolved
from causaldsl.language.parser import parse_query

SMOKING = """model smoking {
    latent genotype ~ Bernoulli(0.5)
    smoking ~ Bernoulli(if genotype then 0.8 else 0.2)
    tar     ~ Bernoulli(if smoking then 0.95 else 0.05)
    cancer  ~ Bernoulli(0.1 + 0.3 * tar + 0.5 * genotype)
}
"""
EDGES = {("genotype", "smoking"), ("genotype", "cancer"), ("smoking", "tar"), ("tar", "cancer")}
NS = {"s": "http://www.w3.org/2000/svg"}


@pytest.fixture(scope="module")
def smoking():
    return cd.model(SMOKING)


def edges_of(svg: str) -> set:
    return set(re.findall(r'class="cdsl-edge" data-source="([^"]+)" data-target="([^"]+)"', svg))


def markers_resolve_inside(svg: str) -> list[str]:
    """The marker ids the drawing's paths use; asserts each is defined in the same drawing."""
    root = ET.fromstring(svg)
    defined = {m.get("id") for m in root.iter("{http://www.w3.org/2000/svg}marker")}
    used = []
    for el in root.iter():
        for attr in ("marker-end", "marker-start"):
            if el.get(attr):
                ref = re.fullmatch(r"url\(#(.+)\)", el.get(attr)).group(1)
                assert ref in defined, (ref, defined)
                used.append(ref)
    return used


# ------------------------------------------------------------------ unique marker ids
def test_two_drawings_of_one_model_share_no_id(smoking):
    a, b = smoking.draw().svg, smoking.draw().svg
    ids_a = set(re.findall(r'id="([^"]+)"', a))
    ids_b = set(re.findall(r'id="([^"]+)"', b))
    assert ids_a and not ids_a & ids_b
    assert len(markers_resolve_inside(a)) == len(EDGES) and markers_resolve_inside(b)
    # Not numbered from a start every kernel shares: no 'cdsl1'-style ids.
    assert not any(re.fullmatch(r"cdsl\d+(-\w)?", i) for i in ids_a | ids_b)


# ------------------------------------------------------------------ what each object displays
def test_every_model_and_graph_object_displays_as_its_drawing(smoking):
    g = cd.graph("graph fd {\n X -> M -> Y\n X <-> Y\n}")
    for obj in (smoking, smoking.do(smoking=1), smoking.causal_graph, g):
        bundle = obj._repr_mimebundle_()
        assert set(bundle) == {"text/plain", "image/svg+xml", "text/html"}, type(obj)
        assert bundle["text/plain"] == repr(obj)
        assert bundle["image/svg+xml"] in bundle["text/html"]
        ET.fromstring(bundle["image/svg+xml"])  # well-formed
    assert edges_of(smoking._repr_mimebundle_()["image/svg+xml"]) == EDGES
    assert edges_of(g._repr_mimebundle_()["image/svg+xml"]) == {("X", "M"), ("M", "Y")}
    assert g._repr_mimebundle_()["image/svg+xml"].count('class="cdsl-bidirected"') == 1


def test_the_intervened_model_draws_its_mutilated_graph(smoking):
    svg = smoking.do(smoking=1)._repr_mimebundle_()["image/svg+xml"]
    assert edges_of(svg) == EDGES - {("genotype", "smoking")}   # graph surgery: the arrow into smoking is cut
    assert 'data-node="smoking" data-mode="do"' in svg and ">do = 1<" in svg
    assert "<title>smoking: do(smoking = 1)</title>" in svg
    graph_svg = smoking.do(smoking=1).causal_graph._repr_mimebundle_()["image/svg+xml"]
    assert 'data-node="smoking" data-mode="do"' in graph_svg
    assert edges_of(graph_svg) == EDGES - {("genotype", "smoking")}


def test_to_dot_marks_the_intervened_node(smoking):
    dot = smoking.do(smoking=1).to_dot()
    assert '"smoking" [shape=box, peripheries=2];' in dot and '"genotype" [style=dashed];' in dot
    arrows = set(re.findall(r'"(\w+)" -> "(\w+)"', dot))
    assert arrows == EDGES - {("genotype", "smoking")}
    assert "peripheries" not in smoking.to_dot()
    assert set(re.findall(r'"(\w+)" -> "(\w+)"', smoking.to_dot())) == EDGES


def test_a_fitted_model_displays_as_its_drawing():
    m = cd.model("model coin {\n param p ~ Beta(1, 1)\n x ~ Bernoulli(p)\n y ~ Bernoulli(0.2 + 0.6 * x)\n}")
    # Built from the prior's draws rather than fitted: what it displays does not depend on the draws.
    from causaldsl.api import FittedModel

    fitted = FittedModel(m.ir, (), m.source, draws=m._posterior(),
                         diagnostics={"method": "SVI", "steps": 1, "final_loss": 0.0})
    bundle = fitted._repr_mimebundle_()
    assert bundle["text/plain"].startswith("<FittedModel coin")
    assert edges_of(bundle["image/svg+xml"]) == {("x", "y")}


def test_a_cell_draws_the_graph_of_each_intervention(smoking):
    qs = [parse_query(q) for q in ("P(cancer = 1)", "P(cancer = 1 | do(smoking = 1))", "ATE(smoking -> cancer)",
                                   "P(cancer = 1 | do(tar = 0))")]
    svgs = query_pictures(smoking, qs)
    titles = [re.search(r"<title>(.*?)</title>", s).group(1) for s in svgs]
    assert titles == ["smoking", "smoking: do(smoking)", "smoking: do(tar = 0)"]
    assert edges_of(svgs[0]) == EDGES
    assert edges_of(svgs[1]) == EDGES - {("genotype", "smoking")}
    assert edges_of(svgs[2]) == EDGES - {("smoking", "tar")}


# ------------------------------------------------------------------ themes
def test_neutral_colours_are_theme_variables_with_light_fallbacks(smoking):
    svg = smoking.do(smoking=1).draw().svg
    root = ET.fromstring(svg)
    title = root.find(".//s:text[@class='cdsl-title']", NS)
    assert "var(--jp-content-font-color0" in title.get("style")
    edge = root.find(".//s:path[@class='cdsl-edge']", NS)
    assert "var(--jp-content-font-color1" in edge.get("style")
    marker_path = root.find(".//s:marker/s:path", NS)
    assert "var(--jp-content-font-color1" in marker_path.get("style")
    assert "var(--jp-content-font-color2" in root.find(".//s:text[@class='cdsl-legend']", NS).get("style")
    # No neutral colour left hard-coded as an attribute (they would stay dark on a dark page).
    assert not re.search(r'(fill|stroke)="#(333|111|222|444|555|e5e5e5)', svg)
    from causaldsl.notebook.charts import bars_svg

    chart = bars_svg(["0", "1"], {"seeing": [0.3, 0.7]}, title="t")
    assert "var(--jp-border-color2" in chart and "var(--jp-content-font-color0" in chart
    flat = resolved(svg)
    assert "var(" not in flat and 'style="fill:#111111"' in flat


# ------------------------------------------------------------------ files
def test_draw_writes_svg_png_and_pdf(smoking, tmp_path):
    pytest.importorskip("cairosvg")
    from PIL import Image

    pic = smoking.do(smoking=1).draw(tmp_path / "g.svg")
    text = (tmp_path / "g.svg").read_text()
    root = ET.fromstring(text)
    assert "var(" not in text and edges_of(text) == EDGES - {("genotype", "smoking")}
    width = float(root.get("width"))
    smoking.draw(tmp_path / "g.png")
    img = Image.open(tmp_path / "g.png")
    assert img.format == "PNG" and img.width == round(2 * float(ET.fromstring(smoking.draw().svg).get("width")))
    # The picture is drawn, not blank: dark ink on the white background.
    assert np.asarray(img.convert("L")).min() < 80
    cd.graph("graph g {\n X -> Y\n}").draw(tmp_path / "g.pdf")
    assert (tmp_path / "g.pdf").read_bytes().startswith(b"%PDF")
    assert pic.svg.startswith("<svg") and width > 100
    with pytest.raises(ExportError) as err:
        smoking.draw(tmp_path / "g.jpg")
    assert isinstance(err.value, CausalDSLError) and ".svg" in err.value.hint


# ------------------------------------------------------------------ the explorer
@pytest.fixture(scope="module")
def explorer(smoking):
    pytest.importorskip("ipywidgets")
    return cd.explore(smoking, outcome="cancer")


def test_the_explorer_ships_a_static_copy_beside_the_widget(shell, explorer):
    from IPython.utils.capture import capture_output

    bundle = explorer._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert "cdsl-explorer-static" in bundle["text/html"] and "<svg" in bundle["text/html"]
    with capture_output() as cap:
        explorer._ipython_display_()
    first, second = (o.data for o in cap.outputs)
    assert "cdsl-explorer-static" in first["text/html"] and "cdsl-explorer-answers" in first["text/html"]
    assert "application/vnd.jupyter.widget-view+json" in second and "text/html" not in second
    assert explorer._static_ids  # kept up to date by display id
    with capture_output() as cap:
        explorer.click("smoking")
    (update,) = [o.data for o in cap.outputs]
    assert 'data-node="smoking" data-mode="do"' in update["text/html"]
    explorer.reset()


def test_the_explorer_keeps_one_width_and_a_whole_title(smoking, explorer):
    width = lambda: float(re.search(r'width="([\d.]+)"', explorer._graph_svg()).group(1))  # noqa: E731
    before = width()
    explorer.click("smoking")
    explorer.click("tar")
    explorer.click("tar")  # tar conditioned: the legend has three entries now
    assert width() == before
    explorer.reset()
    long = cd.model("model a_model_with_a_rather_long_name_indeed {\n x ~ Bernoulli(0.5)\n y := x\n}")
    svg = long.draw().svg
    assert float(re.search(r'width="([\d.]+)"', svg).group(1)) >= 8 * len(long.name)


def test_in_fact_says_not_observed_and_labels_fit(explorer):
    explorer.click("smoking")
    box = explorer._control_widgets["smoking"]
    control, fact = box.children[0], box.children[1]
    assert fact.label == "not observed" and explorer.state.facts.get("smoking") is None
    fact.value = 1.0
    assert explorer.state.facts["smoking"] == 1.0
    assert "smoking = 1" in explorer.questions()["imagining"]
    explorer._control_widgets["smoking"].children[1].value = "not observed"
    assert explorer.state.facts["smoking"] is None
    width = int(control.style.description_width.rstrip("px"))
    assert width >= 7 * len("do(smoking)")
    explorer.reset()


def test_equal_series_stay_visible(explorer):
    explorer.click("smoking")  # no facts, no evidence: imagining P(cancer[smoking=1]) equals doing
    chart = explorer.chart.value
    assert "imagining (= doing)" in chart
    explorer.reset()
    from causaldsl.notebook.charts import histograms_svg

    svg = histograms_svg([0, 1, 2], {"doing": [0.5, 0.5], "imagining": [0.5, 0.5]}, notes={"imagining": "= doing"})
    paths = re.findall(r'<path class="cdsl-hist" data-series="(\w+)"[^>]*?(stroke-dasharray="[^"]+")?/>', svg)
    assert [p[0] for p in paths] == ["doing", "imagining"] and not paths[0][1] and paths[1][1]


def test_histogram_tails_are_counted_apart_not_lumped():
    ex = cd.explore(cd.model("model n {\n y ~ Normal(0, 1)\n}"), outcome="y", samples=40_000)
    a = ex.answers["seeing"]
    edges = ex._edges_for("y")
    below, above = a["outside"]
    assert abs(a["mass"].sum() + below + above - 1) < 1e-9
    Phi = lambda t: 0.5 * (1 + math.erf(t / math.sqrt(2)))  # noqa: E731
    for got, want in ((below, Phi(edges[0])), (above, 1 - Phi(edges[-1]))):
        assert abs(got - want) < 5 * math.sqrt(want * (1 - want) / 40_000) + 1e-4, (got, want)
    dens = a["density"]
    assert dens[0] < dens[1] * 1.5 and dens[-1] < dens[-2] * 1.5   # no spike at the ends
    assert 'class="cdsl-outside"' in ex.chart.value and "not drawn" in ex.chart.value


def test_a_standard_error_at_rounding_noise_prints_zero():
    ex = cd.explore(cd.model("model d {\n x ~ Normal(0, 1)\n y := 2 * x + 1\n}"), outcome="y", samples=4000)
    ex.click("x")
    ex.set("x", 1.0)
    doing = ex.answers["doing"]
    assert abs(doing["mean"] - 3.0) < 1e-12 and doing["stderr"] < 1e-12
    row = re.search(r'data-setting="doing".*?</tr>', ex.table.value).group(0)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row)
    assert cells[3] == "0" and not re.search(r"\de-\d", row)
    assert "± 0" in repr(ex)


def test_long_level_names_fit_their_node():
    m = cd.model("model w {\n weather ~ Categorical(sunny: 0.5, overcast_with_showers: 0.5)\n"
                 " y ~ Bernoulli(if weather == sunny then 0.2 else 0.7)\n}")
    ex = cd.explore(m, outcome="y")
    ex.click("weather")
    ex.set("weather", "overcast_with_showers")
    ex.set_fact("weather", "overcast_with_showers")
    svg = ex._graph_svg()
    node = re.search(r'data-node="weather".*?</g>', svg).group(0)
    sub = re.search(r'class="cdsl-sublabel"[^>]*>([^<]+)<', node).group(1)
    assert sub == "do overcast_with_showers, was overcast_with_showers"
    width = max(float(w) for w in re.findall(r'width="([\d.]+)"', node))
    assert width >= 10.5 * 0.55 * len(sub)   # 10.5px text, about 0.55 em a character
