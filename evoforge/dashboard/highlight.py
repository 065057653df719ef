"""Syntax highlighting on the server with Pygments (a dependency of rich, so always present): the
program view shows coloured code with no script to load, which keeps its first paint fast."""

from __future__ import annotations

from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import DiffLexer, PythonLexer, guess_lexer
from pygments.util import ClassNotFound

_FORMATTER = HtmlFormatter(cssclass="code", linenos=False)
_INLINE = HtmlFormatter(cssclass="code", noclasses=True)


def _lexer(code: str) -> object:
    """Python unless the code is plainly something else (an evolved C or Lean file)."""
    if "def " in code or "import " in code or "# EVOLVE-BLOCK" in code:
        return PythonLexer()
    try:
        return guess_lexer(code)
    except ClassNotFound:
        return PythonLexer()


def highlight_code(code: str, inline_styles: bool = False) -> str:
    """``code`` as highlighted HTML; ``inline_styles`` for a page without the stylesheet (the report)."""
    return highlight(code, _lexer(code), _INLINE if inline_styles else _FORMATTER)


def highlight_diff(diff: str, inline_styles: bool = False) -> str:
    return highlight(diff, DiffLexer(), _INLINE if inline_styles else _FORMATTER)


def stylesheet() -> str:
    """The CSS of the highlighted code's classes."""
    return _FORMATTER.get_style_defs(".code")
