"""Text that came from the trading loop is shown literally: no markup, no control sequences."""

from __future__ import annotations

import json
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


# JSON escapes C0 controls itself; DEL and the C1 controls (U+0080-U+009F: 0x9B is a CSI on
# many terminals) it leaves raw with ensure_ascii=False, and lone surrogates, which no UTF-8
# stream can write. Escaped, the text stays exact.
_JSON_RAW_CONTROLS = {c: f"\\u{c:04x}" for c in (*range(0x7F, 0xA0), *range(0xD800, 0xE000))}
# Most texts hold none: a search costs a sixth of translating (a year's period JSON, 190 kB:
# 1 ms against 6).
_JSON_RAW = re.compile("[\x7f-\x9f\ud800-\udfff]")


def json_text(obj: object, **kwargs: object) -> str:
    """``json.dumps`` for a terminal: UTF-8 text, every control character escaped
    (docs/CONTRACT.md §5: text from the loop never acts on the terminal that prints it)."""
    text = json.dumps(obj, ensure_ascii=False, **kwargs)
    return text.translate(_JSON_RAW_CONTROLS) if _JSON_RAW.search(text) else text
