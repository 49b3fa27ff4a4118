"""Field errors located in the runbook's text, for the editor's markers."""

from __future__ import annotations

from runwright_runbook.locate import line_of

TEXT = """\
title: Export
steps:
  - ordinal: 0
    action: {type: navigate, url: /login}
  - ordinal: 1
    action:
      type: click
"""


def test_a_path_points_at_its_deepest_part_in_the_text() -> None:
    assert line_of(TEXT, "runbook.title") == 1
    assert line_of(TEXT, "runbook.steps[1].action.type") == 7
    # A missing field points at the mapping that should hold it.
    assert line_of(TEXT, "runbook.steps[1].action.selector") == 7
    assert line_of(TEXT, "steps[0].action.url") == 4
    assert line_of(TEXT, "runbook.steps[9]") == 3, "the list it is missing from"


def test_text_that_does_not_parse_points_at_the_problem() -> None:
    assert line_of("title: x\nsteps: [unclosed\n", "runbook") == 3
    assert line_of("", "runbook") is None
