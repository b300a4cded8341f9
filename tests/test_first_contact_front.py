"""Issue 18, the front end's items: expression conditions (7), ';' in models (8), unclosed
brackets (9), unknown words (10), no pickle from the shared temp directory (17), no
RecursionError from deep expressions (19), '\\r' and reported lines (20).

Expected numbers come from enumeration written out here (discrete) or a closed form
(continuous); expected positions are counted by hand from the text.
"""

from __future__ import annotations

import itertools
import math
import os
import pickle
import tempfile

import pytest

import causaldsl as cd
from causaldsl import parser as P


def raises(fn, *args, **kw) -> cd.CausalDSLError:
    with pytest.raises(cd.CausalDSLError) as info:
        result = fn(*args, **kw)
        pytest.fail(f"no error raised; got {result!r}")
    return info.value


def at(err, cls, line: int, column: int, source_line: str | None = None) -> None:
    assert type(err) is cls, (type(err), str(err))
    assert (err.line, err.column) == (line, column), str(err)
    if source_line is not None:
        assert err.source_line == source_line, str(err)
        assert str(err).splitlines()[1] == source_line


# ---------------------------------------------------------------------- 8: ';' in model blocks
def test_semicolons_separate_model_statements():
    m = cd.model("model m { x ~ Bernoulli(0.3); y ~ Bernoulli(table(x) { 0: 0.1, 1: 0.9 }); z := x + y; }")
    assert m.variables == ["x", "y", "z"]
    # P(z = 2) = P(x = 1) P(y = 1 | x = 1)
    assert m.query("P(z = 2)").value == pytest.approx(0.3 * 0.9, abs=1e-12)


def test_semicolons_and_new_lines_mix_and_fast_parse_agrees_with_lark():
    text = "model m {\n x ~ Bernoulli(0.5); y := 1 - x\n z ~ Bernoulli(0.25);\n}\nP(y = 1)"
    fast = P.parse(text)
    assert fast == P._parse_with_lark(text, "start")
    assert [s.name for s in fast.items[0].statements] == ["x", "y", "z"]


# ---------------------------------------------------------------------- 17: the parser's cache
class _Planted:
    """A pickle that records that it ran (what an attacker's payload would do)."""

    ran = False

    def __reduce__(self):
        return (_mark_ran, ())


def _mark_ran():
    _Planted.ran = True
    return None


def _fresh_parser(monkeypatch, tmp: str, cache_home: str):
    monkeypatch.setattr(tempfile, "tempdir", tmp)
    monkeypatch.setenv("XDG_CACHE_HOME", cache_home)
    P._lark.cache_clear()
    P._tables.cache_clear()
    try:
        return P._lark("start")
    finally:
        P._lark.cache_clear()
        P._tables.cache_clear()


def _plant_everywhere(folder: str) -> None:
    """A pickle at every name Lark's own cache=True would read in ``folder``."""
    import getpass
    import hashlib
    import sys

    import lark

    user = getpass.getuser()
    for name in os.listdir(tempfile.gettempdir()):  # the names Lark used before, whatever their hash
        if name.startswith(".lark_cache_"):
            open(os.path.join(folder, name), "wb").write(b"x\n" + pickle.dumps(_Planted()))
    # and the name for this grammar with cache=True and no other option
    digest = hashlib.sha256((P.grammar_text() + lark.__version__ + str(sys.version_info[:2])).encode()).hexdigest()
    open(os.path.join(folder, f".lark_cache_{user}_{digest}_{sys.version_info[0]}_{sys.version_info[1]}.tmp"),
         "wb").write(b"x\n" + pickle.dumps(_Planted()))


def test_building_the_parser_reads_and_writes_nothing_in_the_temp_directory(monkeypatch, tmp_path):
    shared = tmp_path / "shared-tmp"
    shared.mkdir()
    home = tmp_path / "cache"
    _plant_everywhere(str(shared))
    before = {p.name: p.stat().st_mtime_ns for p in shared.iterdir()}
    _Planted.ran = False
    lark = _fresh_parser(monkeypatch, str(shared), str(home))
    assert lark.parse("P(x = 1)") is not None
    assert not _Planted.ran
    assert {p.name: p.stat().st_mtime_ns for p in shared.iterdir()} == before  # nothing written there
    cached = list((home / "causaldsl").iterdir())
    assert len(cached) == 1 and cached[0].stat().st_uid == os.getuid()
    assert (home / "causaldsl").stat().st_mode & 0o077 == 0  # made private
    # the second build reads the private cache and parses the same
    again = _fresh_parser(monkeypatch, str(shared), str(home))
    assert again.parse("P(x = 1 | do(y = 0))").pretty() == lark.parse("P(x = 1 | do(y = 0))").pretty()


def test_a_cache_directory_others_can_write_is_not_used(monkeypatch, tmp_path):
    home = tmp_path / "cache"
    (home / "causaldsl").mkdir(parents=True)
    os.chmod(home / "causaldsl", 0o777)
    grammar = P.grammar_text()
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    assert P._cache_file(grammar, "start") is None
    _Planted.ran = False
    for name in ("a", "b"):
        open(home / "causaldsl" / name, "wb").write(pickle.dumps(_Planted()))
    _fresh_parser(monkeypatch, str(tmp_path), str(home))
    assert not _Planted.ran
    assert sorted(p.name for p in (home / "causaldsl").iterdir()) == ["a", "b"]


# ---------------------------------------------------------------------- 20: '\r' and reported lines
MODEL = "model m {\n  x ~ Bernoulli(0.5)\n  y ~ Bernoulli(0.5)\n}\n"


@pytest.mark.parametrize("newline", ["\r\n", "\r"])
def test_carriage_returns_do_not_shift_the_reported_line(newline):
    src = MODEL.replace("\n", newline) + "P(x = 1)" + newline + "P(z = 1)" + newline
    err = raises(cd.run, src)
    at(err, cd.UnknownNameError, 6, 3, "P(z = 1)")


def test_a_carriage_return_in_a_comment_does_not_shift_the_quoted_line():
    # a lone '\r' is a line break (as Python reads source), so y's statement is line 3
    src = "model m {\n  x ~ Bernoulli(0.5) # note\r  y ~ Bernoulli(0.5)\n}\nP(z = 1)\n"
    err = raises(cd.run, src)
    at(err, cd.UnknownNameError, 5, 3, "P(z = 1)")
    # a form feed is not a line break: the query's line is not shifted by one in a comment
    src = "model m {\n  x ~ Bernoulli(0.5) # a \x0c b\n}\nP(z = 1)\n"
    at(raises(cd.run, src), cd.UnknownNameError, 4, 3, "P(z = 1)")


@pytest.mark.parametrize("newline", ["\r\n", "\r"])
def test_carriage_returns_in_a_query(newline):
    m = cd.model(MODEL)
    err = raises(m.query, f"P(x = 1 |{newline} z = 1)")
    at(err, cd.UnknownNameError, 2, 2, " z = 1)")
    assert m.query(f"P(x = 1,{newline} y = 1)").value == pytest.approx(0.25)
