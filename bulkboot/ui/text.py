"""Text from outside (the cloud, the manifest) made safe to print on a terminal.

Why: a fault message, an error body or a server name is text someone else wrote. Sent
to a terminal raw, ``ESC [2J`` clears the screen, ``ESC ]0;...BEL`` sets the window
title, a carriage return overwrites the line before it and a right-to-left override
makes a name read backwards. Everything bulkboot prints that it did not write itself
goes through ``printable`` first: the plain lines, the live view, the summaries, the
status and plan tables, notes and error messages (``bulkboot.cli``). Machine output
(JSON documents, reports) keeps the text as it was: JSON escapes what it must.

Light on purpose (the standard library only): ``bulkboot.cli`` imports it to print
errors, and ``bulkboot --help`` should not pay for rich.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["printable"]

# Whole escape sequences first (their parameters are harmless letters once the ESC is
# gone, but they are noise), then any single control character left:
# - CSI: ESC [ parameters intermediates final (and the 8-bit CSI, U+009B);
# - OSC, DCS, SOS, PM, APC: ESC ] ... up to BEL or ST (ESC \ or U+009C), or the end;
# - any other ESC with the one character it introduces.
_SEQUENCE: Final = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b.?",
    re.DOTALL,
)
# C0 but tab and newline, DEL, C1; and the bidirectional overrides and isolates that
# make text display in another order than it is stored.
_CONTROL: Final = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_LINE_BREAKS: Final = re.compile(r"[\t\n]+")


def printable(text: str, *, multiline: bool = False) -> str:
    """``text`` without escape sequences or control characters.

    ``multiline`` keeps newlines and tabs (an error message of several lines); by
    default they become one space, so that one value stays on its one line (a server
    name in a table row, a fault in a plain line). Cheap for the usual case, text that
    is printable already: one C-level check.
    """
    if text.isprintable():
        return text
    cleaned = _CONTROL.sub("", _SEQUENCE.sub("", text))
    return cleaned if multiline else _LINE_BREAKS.sub(" ", cleaned)
