"""Hostile review 45: text from outside riskscore in the documents people open (the model
card, the vignette catalogue, the robustness report).

Each test whose docstring begins "Was:" failed on the code before its fix."""

from __future__ import annotations

import dataclasses
import re
import warnings
from importlib.resources import files
from pathlib import Path

from _regulatory import KEY, T0
from test_hostile_review4_inputs import _vignette
from test_hostile_review9 import MARKUP_BANDS, _queue_of_bands, shown_as_text

import riskscore as rs
from riskscore.evaluation.robustness import RobustnessReport, WorldResult
from riskscore.io.markdown import markdown_code
from riskscore.io.schema import has_hidden_character
from riskscore.model.card import render_model_card
from riskscore.moderation import ReviewQueue, transparency_report
from riskscore.moderation.transparency_render import (
    MAX_CHART_LABEL,
    chart_label,
    render_html,
    write_charts,
)
from riskscore.vignettes import read_vignette, vignettes_markdown

#: A training data directory as ``riskscore train --data DIR`` records it: a directory
#: name may hold backticks, markup and a line break.
_SOURCE = "data` <img src=x onerror=alert(1)> ``x\n# Approved by the regulator"


def _code_span(line: str, before: str) -> str:
    """The text a CommonMark renderer shows for the code span that follows ``before`` in
    ``line``, asserting that it is one span closed on the line."""
    rest = line[line.index(before) + len(before) :]
    fence = re.match(r"`+", rest)
    assert fence is not None, line
    n = len(fence.group())
    # the closing fence: the first run of exactly n backticks
    close = next(m for m in re.finditer(r"`+", rest[n:]) if len(m.group()) == n)
    content = rest[n : n + close.start()]
    if content.startswith(" ") and content.endswith(" ") and content.strip():
        content = content[1:-1]
    return content


def test_markdown_code_holds_any_text_as_one_code_span() -> None:
    for text in ["a", "`", "``a`", "a ` b", " a ", "x`` y `z`", "|<b>|"]:
        span = markdown_code(text)
        assert _code_span(span, "") == text, span
        assert span.endswith(span[: len(re.match(r"`+", span).group())])  # type: ignore[union-attr]
    assert markdown_code("two\nlines") == "`two lines`"


def test_the_model_cards_training_source_is_one_code_span() -> None:
    """Was: the card wrote the training data directory between single backticks: a
    backtick in its name closed the code span (the rest, an ``<img onerror>``, was HTML)
    and a line break in it started a heading of the directory's making."""
    card = render_model_card({"training": {"source": _SOURCE}})
    assert not any(line.startswith("# Approved") for line in card.splitlines())
    line = next(line for line in card.splitlines() if "onerror" in line)
    assert _code_span(line, "The labelled events in ") == " ".join(_SOURCE.splitlines())


def test_vignette_text_is_text_in_the_catalogue(tmp_path: Path) -> None:
    """Was: ``docs/vignettes.md`` wrote a vignette's title, summary and reason as
    written: a ``|`` in a title split its row of the summary table, and ``<img onerror>``,
    links and emphasis in any of them were markup."""
    vignette = read_vignette(_vignette(tmp_path))
    hostile = [
        dataclasses.replace(vignette, title=MARKUP_BANDS[k], summary=text, moderator_reason=text)
        for k, text in enumerate(MARKUP_BANDS[::-1])
    ]
    catalogue = vignettes_markdown(hostile)
    rows = [line for line in catalogue.splitlines() if line.startswith("| [`t01-test`]")]
    assert len(rows) == len(hostile)
    titles = set()
    for row in rows:
        cells = re.split(r"(?<!\\)\|", row)[1:-1]
        assert len(cells) == 4, row
        titles.add(shown_as_text(cells[3].strip()))
    assert titles == set(MARKUP_BANDS)
    bold = {
        shown_as_text(line[2:-2])
        for line in catalogue.splitlines()
        if line.startswith("**") and line.endswith("**")
    }
    assert bold == set(MARKUP_BANDS)
    for key in ("- **What happens**: ", "- **Moderator's reason**: "):
        lines = [line for line in catalogue.splitlines() if line.startswith(key)]
        shown = {shown_as_text(line[len(key) :]) for line in lines}
        assert shown == set(MARKUP_BANDS)


def _escaped(text: str) -> str:
    return re.sub(r"([\\`*_\[\]<>&~$])", r"\\\1", text)


def test_world_names_are_text_in_the_robustness_report() -> None:
    """Was: the robustness report's tables escaped ``|`` in a world's name but not
    markup: a world named ``<img src=x onerror=alert(1)>`` (any printable name) was HTML
    in the per-world table and in the summary's worst-world column."""
    results = tuple(
        WorldResult(name, n_conversations=10, n_grooming=1, pr_auc=k / 10, pr_auc_rare=k / 10)
        for k, name in enumerate(MARKUP_BANDS)
    )
    markdown = RobustnessReport(results, prevalence=0.01, rare_prevalence=1e-4).to_markdown()
    table = markdown.split("\n\n")[1]  # the per-world table
    rows = [line for line in table.splitlines() if line.startswith("| ")][1:]
    shown = {shown_as_text(re.split(r"(?<!\\)\|", row)[1].strip()) for row in rows}
    assert set(MARKUP_BANDS) <= shown
    worst = next(line for line in markdown.splitlines() if line.startswith("| pr_auc |"))
    assert worst.endswith(f"({_escaped(MARKUP_BANDS[0])}) |"), worst


def test_a_foreign_bundles_metadata_is_text_in_the_card_written_for_it() -> None:
    """Was: ``riskscore train --from-queue --model DIR`` keeps the given bundle's metadata
    and writes a card from it: its input names (between single backticks) closed their code
    spans on a backtick, and its calibrated prevalence was written as given, a line break
    and a heading included."""
    name = "x` <img src=x onerror=alert(1)> `"
    card = render_model_card(
        {
            "inputs": [name],
            "unconstrained_inputs": [name],
            "input_caps": {name: 3},
            "training": {"calibrated_prevalence": "0.01\n# Approved <b>by</b> the regulator"},
        }
    )
    assert not any(line.startswith("# Approved") for line in card.splitlines())
    assert "\\<b\\>by\\</b\\>" in card
    spans = [line for line in card.splitlines() if "onerror" in line]
    assert len(spans) == 3
    for line in spans:
        before = line[: line.index("``")]
        assert _code_span(line, before) == name


def _wraps_long_words(css: str, selector: str) -> bool:
    """Whether a rule of ``css`` for ``selector`` breaks a word too long for its cell."""
    rules = (rule.replace(" ", "") for rule in css.split("}"))
    return any(
        selector in rule.split("{")[0].split(",") and "overflow-wrap:anywhere" in rule
        for rule in rules
    )


def test_a_long_unbroken_name_wraps_in_the_report_and_console_tables(tmp_path: Path) -> None:
    """Was: a table cell never broke a word: an age band name of 64 characters without a
    space (or, in the console's queue, an account id of 256) stretched its table past the
    page, the columns after it (counts, the case link) off screen."""
    db = _queue_of_bands(tmp_path / "q.sqlite", ["x" * 64])
    with ReviewQueue(db) as queue:
        page = render_html(transparency_report(queue, (T0, T0 + 86_400), key=KEY).to_dict(), ())
    assert _wraps_long_words(page[page.index("<style>") : page.index("</style>")], "td")
    console = (files("riskscore.serve") / "templates" / "base.html").read_text("utf-8")
    assert _wraps_long_words(console[: console.index("</style>")], "td")


def test_hidden_characters_of_a_bundles_metadata_are_shown_by_code_point() -> None:
    """Was: the model name and the training directory of a bundle were written with their
    bidi overrides and zero-width characters (refused in ids, band, platform and moderator
    names, never read in a bundle's metadata): ``"trees\u202e"`` followed by reversed text
    read as something else in the evaluation report and the model card."""
    name = "trees \u202edevorppa\u202c by\u200b QA"
    metadata = {"estimator": name, "training": {"source": "data\u2066x\u2069"}}
    card = render_model_card(metadata)
    data = rs.synthetic.generate(60, prevalence=0.2, seed=3)
    shipped = rs.load_model()
    model = rs.RiskModel(
        shipped.trees, shipped.calibration, metadata={**shipped.metadata, "estimator": name}
    )
    report = rs.evaluate(model, data.messages, data.labels, n_bootstrap=0, replay_events=0)
    for markdown in (card, report.to_markdown()):
        assert not any(has_hidden_character(line) for line in markdown.splitlines())
        assert "trees \\[U+202E\\]devorppa\\[U+202C\\] by\\[U+200B\\] QA" in markdown
    assert "`data[U+2066]x[U+2069]`" in card


def test_long_band_names_leave_the_volume_chart_laid_out(tmp_path: Path) -> None:
    """Was: eight age bands named with 64 characters (the longest a policy takes) needed
    more margin below the volume chart than it has: matplotlib warned "Tight layout not
    applied" and the names ran off the image, no bar readable as its band's."""
    bands = [f"{k}{'W' * 63}" for k in range(8)]
    db = _queue_of_bands(tmp_path / "q.sqlite", bands)
    with ReviewQueue(db) as queue:
        report = transparency_report(queue, (T0, T0 + 86_400), key=KEY, min_cell=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert write_charts(report.to_dict(), tmp_path)[0] == "volume.png"
    labels = [chart_label(band) for band in bands]
    assert len(set(labels)) == len(bands)
    assert all(len(label) <= MAX_CHART_LABEL for label in labels)
    assert [label[0] for label in labels] == [band[0] for band in bands]
