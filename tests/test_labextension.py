"""The JupyterLab extension: built assets, tokenizer word lists, installation.

The extension's source is jupyter_ext/labextension; `make labextension` builds it into
causaldsl/labextension, which is committed and installed as shared-data. These tests need
neither Node.js nor a browser: they read the built bundle and ask JupyterLab what it finds.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BUILT = ROOT / "causaldsl" / "labextension"
NAME = "causaldsl"  # the npm package name, which JupyterLab lists


def _bundle() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted((BUILT / "static").glob("*.js")))


def _word_lists(js: str) -> list[set[str]]:
    """Every string literal of the bundle that is a space-separated list of words."""
    literals = re.findall(r'"([^"\\\n]*)"|\'([^\'\\\n]*)\'|`([^`\\$]*)`', js)
    lists = []
    for groups in literals:
        text = next(g for g in groups if g is not None)
        if re.fullmatch(r"[A-Za-z_]+(?: [A-Za-z_]+){2,}", text):
            lists.append(set(text.split(" ")))
    return lists


def _grammar_words() -> tuple[set[str], set[str]]:
    """The grammar's word literals, as (keywords, query heads).

    A query head is a word that starts a `*_query` rule (`P`, `adjustment`, ...) or one of
    the word alternatives a `*_query` rule starts with (`_effect_name`, `_relation`). A word
    followed by another query (`identify P(...)`) is a keyword, as are all the others.
    """
    from lark import Lark

    from causaldsl.language.parser import grammar_text

    lark = Lark(grammar_text(), parser="lalr")
    literals = {
        t.name: t.pattern.value
        for t in lark.terminals
        if t.pattern.type == "str" and re.fullmatch(r"[A-Za-z_]\w*", t.pattern.value)
    }
    by_origin: dict[str, list] = {}
    for rule in lark.rules:
        by_origin.setdefault(rule.origin.name, []).append(rule.expansion)
    heads = set()
    for origin, expansions in by_origin.items():
        if not origin.endswith("_query"):
            continue
        for expansion in expansions:
            first = expansion[0].name if expansion else None
            if first in literals:
                follows_query = len(expansion) > 1 and expansion[1].name.endswith("_query")
                if not follows_query:
                    heads.add(literals[first])
            elif first in by_origin:  # an inlined alternative rule such as _effect_name
                heads.update(literals[e[0].name] for e in by_origin[first] if len(e) == 1 and e[0].name in literals)
    return set(literals.values()) - heads, heads


def test_built_assets():
    package = json.loads((BUILT / "package.json").read_text())
    assert package["name"] == NAME
    lab = package["jupyterlab"]
    assert lab["extension"] is True
    load = BUILT / lab["_build"]["load"]
    assert load.is_file() and re.fullmatch(r"remoteEntry\.[0-9a-f]+\.js", load.name), load
    assert lab["_build"]["extension"] == "./extension"
    install = json.loads((BUILT / "install.json").read_text())
    assert install["packageManager"] == "python" and install["packageName"] == "causaldsl"
    # the built package.json is a copy of the source's (absent from an sdist), plus _build
    source_file = ROOT / "jupyter_ext" / "labextension" / "package.json"
    if source_file.is_file():
        source = json.loads(source_file.read_text())
        assert source["version"] == package["version"], "stale build: make labextension"
        assert source["dependencies"] == package["dependencies"], "stale build: make labextension"


def test_tokenizer_knows_every_word():
    from causaldsl.model.distributions import FAMILIES
    from causaldsl.model.expressions import FUNCTIONS

    keywords, heads = _grammar_words()
    assert {"model", "latent", "param", "fit", "do", "identify", "table"} <= keywords
    assert {"P", "E", "ATE", "PNS", "adjustment", "markov_blanket", "admg"} <= heads
    kinds = {
        "keyword": keywords,
        "query head": heads,
        "distribution": set(FAMILIES),
        "function": set(FUNCTIONS),
    }
    lists = _word_lists(_bundle())
    for kind, words in kinds.items():
        others = set().union(*(w for k, w in kinds.items() if k != kind))
        # the one word list of this kind: it has all of these words and none of the others
        found = [wl for wl in lists if wl & words and not wl & others]
        assert found, f"no {kind} list in the built bundle (rebuild: make labextension)"
        missing = words - set().union(*found)
        assert not missing, (
            f"{kind}s missing from jupyter_ext/labextension/src/language.ts (WORDS), "
            f"or the bundle is stale (make labextension): {sorted(missing)}"
        )


def test_jupyterlab_lists_it_enabled_and_ok():
    pytest.importorskip("jupyterlab")
    out = subprocess.run(
        [sys.executable, "-m", "jupyter", "labextension", "list"],
        capture_output=True, text=True, timeout=120,
    )
    text = re.sub(r"\x1b\[[0-9;]*m", "", out.stdout + out.stderr)
    assert out.returncode == 0, text
    line = next((ln for ln in text.splitlines() if ln.split()[:1] == [NAME]), None)
    assert line is not None, f"{NAME} not installed as a labextension (pip install -e .):\n{text}"
    assert re.search(r"\benabled\s+OK\b", line), line
    assert "(python, causaldsl)" in line, line
    # the installed copy (shared-data, copied even by an editable install) is this build
    installed = Path(sys.prefix, "share", "jupyter", "labextensions", NAME)
    if installed.is_dir():
        def files(d: Path) -> set[str]:
            return {p.relative_to(d).as_posix() for p in d.rglob("*") if p.is_file()}
        assert files(installed) == files(BUILT), "installed labextension is stale: pip install -e ."
