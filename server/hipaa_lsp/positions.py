"""Byte offsets <-> LSP positions, in any of the three LSP position encodings.

LSP lines end at "\\n", "\\r\\n" or a lone "\\r" (and nothing else: not form feeds or U+2028, which
`str.splitlines` would split on). Columns count UTF-16 code units, UTF-8 bytes or code points,
depending on the encoding negotiated with the client.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from itertools import accumulate
from dataclasses import dataclass

UTF8 = "utf-8"
UTF16 = "utf-16"
UTF32 = "utf-32"

_LINE_BREAK = re.compile(rb"\r\n|\r|\n")


@dataclass(frozen=True, slots=True)
class Position:
    line: int
    character: int


def _units(raw: bytes, encoding: str) -> int:
    """Length of a UTF-8 byte string in the given encoding's code units."""
    if encoding == UTF8:
        return len(raw)
    text = raw.decode("utf-8", errors="replace")
    if encoding == UTF32 or text.isascii():
        return len(text)
    # Characters outside the BMP take two UTF-16 code units.
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


class LineIndex:
    """Line starts of a byte string, for fast offset/position conversion."""

    __slots__ = ("data", "starts", "ends")

    def __init__(self, data: bytes):
        self.data = data
        if b"\r" not in data:
            # The common case, done in C: a 10,000-line file takes well under a millisecond.
            lengths = [len(line) for line in data.split(b"\n")]
            starts = [0, *accumulate(length + 1 for length in lengths[:-1])]
            ends = [start + length for start, length in zip(starts, lengths)]
        else:
            starts, ends = [0], []
            for m in _LINE_BREAK.finditer(data):
                ends.append(m.start())
                starts.append(m.end())
            ends.append(len(data))
        self.starts = starts
        self.ends = ends  # end of each line's content, before its terminator

    def line_of(self, offset: int) -> int:
        return max(0, bisect_right(self.starts, offset) - 1)

    def position(self, offset: int, encoding: str) -> Position:
        offset = max(0, min(offset, len(self.data)))
        line = self.line_of(offset)
        start = self.starts[line]
        # An offset inside a "\r\n" pair belongs to the end of the line.
        offset = min(offset, self.ends[line])
        return Position(line, _units(self.data[start:offset], encoding))

    def offset(self, line: int, character: int, encoding: str) -> int:
        """Byte offset of an LSP position; positions past a line's end clamp to it."""
        if line < 0:
            return 0
        if line >= len(self.starts):
            return len(self.data)
        start, end = self.starts[line], self.ends[line]
        if character <= 0:
            return start
        raw = self.data[start:end]
        if encoding == UTF8:
            # Never split a multi-byte character: back up to a character boundary.
            pos = min(character, len(raw))
            while 0 < pos < len(raw) and (raw[pos] & 0xC0) == 0x80:
                pos -= 1
            return start + pos
        text = raw.decode("utf-8", errors="replace")
        if text.isascii():
            return start + min(character, len(raw))
        units = 0
        for i, ch in enumerate(text):
            width = 2 if (encoding == UTF16 and ord(ch) > 0xFFFF) else 1
            if units + width > character:
                return start + len(text[:i].encode("utf-8", errors="surrogatepass"))
            units += width
        return end

    def line_text(self, line: int) -> bytes:
        return self.data[self.starts[line] : self.ends[line]]

    def line_start(self, offset: int) -> int:
        return self.starts[self.line_of(offset)]

    def line_end(self, offset: int) -> int:
        return self.ends[self.line_of(offset)]

    def next_line_start(self, offset: int) -> int:
        line = self.line_of(offset)
        return self.starts[line + 1] if line + 1 < len(self.starts) else len(self.data)


def detect_newline(data: bytes) -> str:
    m = _LINE_BREAK.search(data)
    return m.group().decode() if m else "\n"


def ts_point(data: bytes, offset: int) -> tuple[int, int]:
    """Tree-sitter point of a byte offset: tree-sitter counts rows on "\\n" only, columns in bytes."""
    row = data.count(b"\n", 0, offset)
    line_start = data.rfind(b"\n", 0, offset) + 1
    return (row, offset - line_start)
