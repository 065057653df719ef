"""Parent → child unified diffs as `evoforge show` prints them."""

from __future__ import annotations

from evoforge.diffs import unified_diff

PARENT = "".join(f"line {i}\n" for i in range(10))
CHILD = PARENT.replace("line 5\n", "line five\n")


def test_equal_programs_have_an_empty_diff() -> None:
    assert unified_diff(PARENT, PARENT) == ""


def test_a_changed_line_with_labels_and_three_lines_of_context() -> None:
    assert unified_diff(PARENT, CHILD, "program 3", "program 7") == (
        "--- program 3\n+++ program 7\n@@ -3,7 +3,7 @@\n"
        " line 2\n line 3\n line 4\n-line 5\n+line five\n line 6\n line 7\n line 8\n"
    )


def test_context_is_configurable() -> None:
    assert unified_diff(PARENT, CHILD, context=0) == (
        "--- parent\n+++ child\n@@ -6 +6 @@\n-line 5\n+line five\n"
    )


def test_a_missing_final_newline_is_flagged_and_lines_stay_separate() -> None:
    diff = unified_diff("a\nb\x0cc\n", "a\nb\x0cc", context=0)
    assert diff == "--- parent\n+++ child\n@@ -2 +2 @@\n-b\x0cc\n+b\x0cc\n\\ No newline at end of file\n"
