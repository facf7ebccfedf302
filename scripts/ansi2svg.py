#!/usr/bin/env python3
"""Turns a terminal screen captured with colours (`tmux capture-pane -e -p`) into an SVG picture.

usage: ansi2svg.py COLUMNS ROWS < screen.ansi > screen.svg
       ansi2svg.py --self-test

Understands what tmux writes: SGR sequences (reset, bold, dim, italic, underline, reverse, the 16
colours, 256-colour and 24-bit foregrounds and backgrounds, and their resets); any other escape
sequence is dropped. Every row becomes one <text> element whose runs are placed on a fixed cell
grid, so the picture does not depend on the viewer's font widths."""
import sys
import unicodedata
from xml.sax.saxutils import escape

CELL_W, CELL_H, FONT = 8.4, 17, 14
DEFAULT_FG, DEFAULT_BG = "#d0d0d0", "#1c1c1c"
# The 16 ANSI colours as xterm draws them.
BASE16 = ["#000000", "#cd0000", "#00cd00", "#cdcd00", "#0000ee", "#cd00cd", "#00cdcd", "#e5e5e5",
          "#7f7f7f", "#ff0000", "#00ff00", "#ffff00", "#5c5cff", "#ff00ff", "#00ffff", "#ffffff"]


def color256(n):
    if n < 16:
        return BASE16[n]
    if n < 232:
        n -= 16
        steps = [0, 95, 135, 175, 215, 255]
        return "#%02x%02x%02x" % (steps[n // 36], steps[n // 6 % 6], steps[n % 6])
    v = 8 + (n - 232) * 10
    return "#%02x%02x%02x" % (v, v, v)


class Style:
    __slots__ = ("fg", "bg", "bold", "dim", "italic", "underline", "reverse")

    def __init__(self):
        self.fg = self.bg = None
        self.bold = self.dim = self.italic = self.underline = self.reverse = False

    def copy(self):
        s = Style()
        for k in self.__slots__:
            setattr(s, k, getattr(self, k))
        return s

    def key(self):
        return tuple(getattr(self, k) for k in self.__slots__)

    def colors(self):
        """(foreground, background) as drawn, reverse applied; background None = the default."""
        fg, bg = self.fg or DEFAULT_FG, self.bg
        if self.reverse:
            fg, bg = bg or DEFAULT_BG, fg or DEFAULT_FG
        return fg, bg


def sgr(style, params):
    """Applies one SGR parameter list to `style`."""
    ps = [int(p) if p.isdigit() else 0 for p in params.split(";")] if params else [0]
    i = 0
    while i < len(ps):
        p = ps[i]
        if p == 0:
            style.__init__()
        elif p == 1:
            style.bold = True
        elif p == 2:
            style.dim = True
        elif p == 3:
            style.italic = True
        elif p == 4:
            style.underline = True
        elif p == 7:
            style.reverse = True
        elif p == 22:
            style.bold = style.dim = False
        elif p == 23:
            style.italic = False
        elif p == 24:
            style.underline = False
        elif p == 27:
            style.reverse = False
        elif 30 <= p <= 37:
            style.fg = BASE16[p - 30]
        elif 90 <= p <= 97:
            style.fg = BASE16[p - 90 + 8]
        elif 40 <= p <= 47:
            style.bg = BASE16[p - 40]
        elif 100 <= p <= 107:
            style.bg = BASE16[p - 100 + 8]
        elif p == 39:
            style.fg = None
        elif p == 49:
            style.bg = None
        elif p in (38, 48) and i + 1 < len(ps):
            if ps[i + 1] == 5 and i + 2 < len(ps):
                c = color256(ps[i + 2] % 256)
                i += 2
            elif ps[i + 1] == 2 and i + 4 < len(ps):
                c = "#%02x%02x%02x" % tuple(v % 256 for v in ps[i + 2:i + 5])
                i += 4
            else:
                c = None
            if p == 38:
                style.fg = c
            else:
                style.bg = c
        i += 1


def width(ch):
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def parse(text, columns, rows):
    """The screen as rows of runs: [(column, text, style)], each row cut to `columns` cells."""
    style = Style()
    screen = []
    for line in text.split("\n")[:rows]:
        runs, col, i = [], 0, 0
        cur, cur_col, cur_style = [], 0, style.copy()

        def flush():
            if cur:
                runs.append((cur_col, "".join(cur), cur_style))

        while i < len(line):
            ch = line[i]
            if ch == "\x1b":
                end = i + 1
                if end < len(line) and line[end] == "[":
                    end += 1
                    while end < len(line) and not ("\x40" <= line[end] <= "\x7e"):
                        end += 1
                    if end < len(line) and line[end] == "m":
                        flush()
                        sgr(style, line[i + 2:end])
                        cur, cur_col, cur_style = [], col, style.copy()
                    i = end + 1
                elif end < len(line) and line[end] == "]":
                    # An OSC string (a title, a hyperlink): up to BEL or ST, dropped.
                    bel, st = line.find("\x07", end), line.find("\x1b\\", end)
                    stops = [x for x in ((bel, 1), (st, 2)) if x[0] >= 0]
                    i = min(stops)[0] + min(stops)[1] if stops else len(line)
                else:
                    i = end + 1  # a two-character escape: dropped
                continue
            w = width(ch)
            if ch < " " or col + w > columns:
                i += 1
                continue
            cur.append(ch)
            col += w
            i += 1
        flush()
        screen.append(runs)
    while len(screen) < rows:
        screen.append([])
    return screen


def svg(screen, columns, rows):
    w, h = round(columns * CELL_W + 16, 1), rows * CELL_H + 16
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
           f'viewBox="0 0 {w} {h}" font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" '
           f'font-size="{FONT}">',
           f'<rect width="100%" height="100%" rx="6" fill="{DEFAULT_BG}"/>',
           '<g transform="translate(8 8)">']
    for r, runs in enumerate(screen):
        for col, text, style in runs:
            _, bg = style.colors()
            if bg:
                cells = sum(width(c) for c in text)
                out.append(f'<rect x="{round(col * CELL_W, 1)}" y="{r * CELL_H}" '
                           f'width="{round(cells * CELL_W, 1)}" height="{CELL_H}" fill="{bg}"/>')
    for r, runs in enumerate(screen):
        spans = []
        for col, text, style in runs:
            if not text.strip() and not style.colors()[1]:
                continue
            fg, _ = style.colors()
            # textLength pins the run to its cells whatever the viewer's font: a long border
            # line would otherwise drift off the grid where that font's glyphs are wider.
            cells = sum(width(c) for c in text)
            attrs = [f'x="{round(col * CELL_W, 1)}"', f'textLength="{round(cells * CELL_W, 1)}"',
                     'lengthAdjust="spacingAndGlyphs"', f'fill="{fg}"']
            if style.bold:
                attrs.append('font-weight="bold"')
            if style.dim:
                attrs.append('opacity="0.6"')
            if style.italic:
                attrs.append('font-style="italic"')
            if style.underline:
                attrs.append('text-decoration="underline"')
            spans.append(f'<tspan {" ".join(attrs)}>{escape(text)}</tspan>')
        out.append(f'<text y="{r * CELL_H + CELL_H - 4}" xml:space="preserve">{"".join(spans)}</text>')
    out.append("</g></svg>")
    return "\n".join(out) + "\n"


def self_test():
    screen = parse("a\x1b[1;38;5;196mB\x1b[0m\x1b[7mc\x1b[27m\x1b[38;2;1;2;3md\x1b[39m\x1b]0;t\x07e\n",
                   80, 2)
    got = [(c, t, s.colors(), s.bold) for c, t, s in screen[0]]
    want = [(0, "a", (DEFAULT_FG, None), False), (1, "B", ("#ff0000", None), True),
            (2, "c", (DEFAULT_BG, DEFAULT_FG), False), (3, "d", ("#010203", None), False)]
    # The OSC title sequence is dropped whole; what follows it is text in the current style.
    assert got[:4] == want, got
    assert [t for _, t, _ in screen[0][4:]] == ["e"], screen[0]
    assert screen[1] == [], screen[1]
    assert parse("x" * 100, 10, 1)[0][0][1] == "x" * 10
    assert color256(16) == "#000000" and color256(231) == "#ffffff" and color256(255) == "#eeeeee"
    doc = svg(screen, 80, 2)
    import xml.etree.ElementTree as ET
    root = ET.fromstring(doc)
    texts = root.findall(".//{http://www.w3.org/2000/svg}text")
    assert len(texts) == 2, len(texts)
    print("ansi2svg: self-test passed")


if __name__ == "__main__":
    if sys.argv[1:] == ["--self-test"]:
        self_test()
        sys.exit(0)
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    cols, rows = int(sys.argv[1]), int(sys.argv[2])
    sys.stdout.write(svg(parse(sys.stdin.read(), cols, rows), cols, rows))
