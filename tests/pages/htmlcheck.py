"""An honest HTML checker for the explorer's pages: strict HTML5 parsing
(html5lib raises on any parse error) plus the accessibility and
Content-Security-Policy rules the pages promise."""

from __future__ import annotations

import html5lib

NS = "{http://www.w3.org/1999/xhtml}"
LABELLED = ("input", "select", "textarea")
UNLABELLED_INPUTS = ("hidden", "submit", "button", "reset")


def _tag(element) -> str:
    return element.tag.replace(NS, "") if isinstance(element.tag, str) else ""


def check_page(text: str) -> list[str]:
    """Problems found in one page: an empty list when it is valid and accessible."""
    problems = []
    parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=True)
    try:
        root = parser.parse(text)
    except html5lib.html5parser.ParseError as error:
        return [f"HTML parse error: {error}"]
    if not text.lstrip().lower().startswith("<!doctype html>"):
        problems.append("no <!doctype html>")
    if not root.get("lang"):
        problems.append("<html> has no lang attribute")
    elements = list(root.iter())
    tags = [_tag(e) for e in elements]
    if tags.count("title") != 1 or not "".join(next(e for e in elements if _tag(e) == "title").itertext()).strip():
        problems.append("the page needs one non-empty <title>")
    if tags.count("h1") != 1:
        problems.append(f"{tags.count('h1')} <h1> elements, expected exactly one")
    if tags.count("main") != 1:
        problems.append("the page needs one <main> landmark")
    level = 0
    for tag in tags:
        if len(tag) == 2 and tag[0] == "h" and tag[1].isdigit():
            if int(tag[1]) > level + 1:
                problems.append(f"heading <{tag}> skips a level after h{level}")
            level = int(tag[1])
    labels = {e.get("for") for e in elements if _tag(e) == "label"}
    ids = [e.get("id") for e in elements if e.get("id")]
    if len(ids) != len(set(ids)):
        problems.append("duplicate id attributes")
    for e in elements:
        tag = _tag(e)
        if e.get("style") is not None:
            problems.append(f"inline style attribute on <{tag}> (CSP forbids it)")
        if any(name.startswith("on") for name in e.attrib):
            problems.append(f"inline event handler on <{tag}> (CSP forbids it)")
        if tag == "style":
            problems.append("<style> element (CSP: CSS lives in api/static)")
        if tag == "script" and (not e.get("src") or "".join(e.itertext()).strip()):
            problems.append("inline <script> (CSP: JavaScript lives in api/static)")
        if (tag in LABELLED and e.get("type") not in UNLABELLED_INPUTS
                and e.get("id") not in labels and not e.get("aria-label")):
            problems.append(f"<{tag} name={e.get('name')!r}> has no label")
        if tag == "a" and not "".join(e.itertext()).strip() and not e.get("aria-label"):
            problems.append(f"link to {e.get('href')} has no text")
        if tag == "img" and e.get("alt") is None:
            problems.append("<img> without alt")
        if tag == "button" and not "".join(e.itertext()).strip() and not e.get("aria-label"):
            problems.append("button without a name")
    return problems


def text_of(page: str) -> str:
    """The page's visible text, whitespace collapsed: what a reader without JavaScript gets."""
    root = html5lib.parse(page, namespaceHTMLElements=False)
    for dropped in list(root.iter("script")) + list(root.iter("head")):
        dropped.clear()
    return " ".join(" ".join(root.itertext()).split())
