"""Making untrusted text safe to store and to print.

Learner text and scenario files are data. Two things can go wrong with them
outside HTML (which `render` escapes):

* a lone surrogate (JSON allows `"\\ud83d"`) cannot be encoded as UTF-8, so every
  later save, score or print of that text fails: `clean_text` replaces each one
  with U+FFFD on load;
* control characters printed to a terminal can clear the screen, move the cursor
  or reverse the reading order, and so forge what the learner sees:
  `terminal_safe` shows each one as a visible `\\uXXXX` escape instead.

Each function makes one regular-expression pass, linear in the length of the text.
"""

from __future__ import annotations

import re

_SURROGATE = re.compile("[\ud800-\udfff]")

# C0 controls except tab and newline, DEL, C1 controls (0x9b is a one-byte CSI on some
# terminals), bidirectional embeddings, overrides and isolates, and lone surrogates.
# A CR before LF is dropped (Windows line ends); any other CR could overwrite the line.
_UNSAFE = re.compile("\r\n|[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_LINE_BREAKS = re.compile("[\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029]+")
_SPACES = re.compile("[ \t]{2,}")


def clean_text(text: str) -> str:
    """Replace lone surrogates (unencodable as UTF-8) with U+FFFD; everything else is kept."""
    return _SURROGATE.sub("\ufffd", text)


def _escape(match: re.Match) -> str:
    char = match.group()
    return "\n" if char == "\r\n" else f"\\u{ord(char):04x}"


def terminal_safe(text: str) -> str:
    """Text that prints as itself: newlines and tabs kept, every other control shown as `\\uXXXX`.

    The escape is valid inside a JSON string too, so JSON output passed through
    this function still parses to the same data.
    """
    return _UNSAFE.sub(_escape, text)


def one_line(text: str) -> str:
    """A message on one line: line breaks become a space, runs of spaces one space."""
    return terminal_safe(_SPACES.sub(" ", _LINE_BREAKS.sub(" ", text))).strip()
