#!/usr/bin/env python3
"""Checks every relative link of README.md and docs/*.md: the file exists, and a #fragment names
a heading of that file (GitHub's anchor rule). Prints each broken link; exits 1 if there is one.
usage: scripts/check_links.py [ROOT]"""
import pathlib
import re
import sys

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".")
LINK = re.compile(r"\]\(([^)\s]+)\)")
FENCE = re.compile(r"^\s*```")


def prose(path):
    """The lines outside code fences (links in code are not links)."""
    inside = False
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if FENCE.match(line):
            inside = not inside
        elif not inside:
            yield n, line


def anchor(heading):
    """GitHub's slug: lowercase, punctuation dropped (letters, digits, `-`, `_` and spaces stay),
    spaces become hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path):
    seen, out = {}, set()
    for _, line in prose(path):
        m = re.match(r"^#{1,6} (.*)", line)
        if m:
            slug = anchor(m.group(1))
            n = seen.get(slug, 0)
            seen[slug] = n + 1
            out.add(slug if n == 0 else f"{slug}-{n}")
    return out


broken = []
pages = [root / "README.md", *sorted((root / "docs").glob("*.md"))]
for page in pages:
    for n, line in prose(page):
        for target in LINK.findall(line):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target):
                continue  # http:, https:, mailto: …
            file, _, fragment = target.partition("#")
            dest = (page.parent / file).resolve() if file else page.resolve()
            where = f"{page.relative_to(root)}:{n}: {target}"
            if not dest.exists():
                broken.append(f"{where}: no such file")
            elif fragment and dest.suffix == ".md" and fragment not in anchors(dest):
                broken.append(f"{where}: no heading #{fragment} in {dest.name}")
for b in broken:
    print(b, file=sys.stderr)
print(f"links: {len(pages)} pages, {len(broken)} broken")
sys.exit(1 if broken else 0)
