"""Text that came from the trading loop is shown literally: no markup, no control sequences."""

from __future__ import annotations

import re

# C0 controls except tab/newline, DEL, C1 controls; ESC-introduced sequences first, whole.
_ANSI = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)?|[@-Z\\-_])")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean(text: object, *, one_line: bool = False) -> str:
    """Escape sequences become visible (ESC → '␛'), other controls are dropped."""
    s = str(text)
    s = _ANSI.sub(lambda m: "␛" + m.group(0)[1:], s)
    s = _CONTROL.sub("", s)
    if one_line:
        s = " ".join(s.split())
    return s
