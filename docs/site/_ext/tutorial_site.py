"""The tutorial website's own Sphinx extension: launch buttons, glossary links, bundled mermaid.

- On every notebook page, under its title: a button that opens that notebook on Binder
  (``tutorial_repository`` names the GitHub repository: the one setting) and one that opens it
  in the reader's own JupyterLab (``tutorial_local_lab``, where ``make lab`` serves it).
- On every page but the glossary, the first appearance of each glossary entry links to it, with
  the term's first sentence as a tooltip. Code, headings, links and cell outputs are left alone.
- mermaid.js comes from ``node_modules/mermaid`` (npm, ``make site-deps``), copied into the
  site's ``_static/mermaid/``: never from a CDN, which offline workshops cannot reach. Pages
  Sphinx makes itself (search, index) have no diagram and do not load it.
- The page's light or dark theme is settled while the page is parsed (``SETTLE_THEME``),
  before mermaid takes its diagrams' theme from it.
- No page loads Font Awesome's JavaScript (``without_fontawesome_js``): its icons come from the
  theme's Font Awesome webfont and CSS.
"""

from __future__ import annotations

import html
import re
import shutil
from pathlib import Path
from typing import Any

from docutils import nodes
from markupsafe import Markup
from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parents[3]
MERMAID_DIST = ROOT / "node_modules" / "mermaid" / "dist"
MERMAID_ENTRY = "mermaid.esm.min.mjs"
GLOSSARY = "glossary"
# Text inside these is never turned into a glossary link.
NO_LINKS = (
    nodes.literal,
    nodes.literal_block,
    nodes.reference,
    nodes.title,
    nodes.raw,
    nodes.term,
    nodes.FixedTextElement,
    nodes.rubric,
    nodes.caption,
)

# pydata-sphinx-theme (under sphinx-book-theme) first sets <html data-theme> from the theme it
# saved in localStorage on the reader's last page, and only once the page is parsed (its
# deferred script's setTheme) from the mode: the one chosen with the theme button, or in
# "auto" the system's prefers-color-scheme. sphinxcontrib-mermaid's module script runs before
# that one and takes its light or dark theme from data-theme; it watches data-theme only
# after its first drawing. So on the first page after the system's scheme changed, the
# diagrams were drawn in the previous scheme's theme (a light diagram on the dark page).
# This inline script, in <head> before both, settles data-theme at once as setTheme will
# (upstream: mgaitan/sphinxcontrib-mermaid#78). The page itself no longer starts in the old
# theme either.
SETTLE_THEME = """(() => {
  const root = document.documentElement;
  const mode = root.dataset.mode;
  const dark = window.matchMedia("(prefers-color-scheme: dark)").matches;
  root.dataset.theme = mode === "light" || mode === "dark" ? mode : dark ? "dark" : "light";
})();"""


def launch_buttons(app: Sphinx, doctree: nodes.document) -> None:
    docname = app.env.docname
    if not docname.startswith("notebooks/"):
        return
    notebook = f"{docname}.ipynb"
    repository = app.config.tutorial_repository
    binder = f"https://mybinder.org/v2/gh/{repository}/HEAD?urlpath=lab/tree/{notebook}"
    # `make lab` serves notebooks/ itself (Binder serves the repository): no folder here.
    local = app.config.tutorial_local_lab.rstrip("/") + f"/{notebook.removeprefix('notebooks/')}"
    markup = (
        '<div class="launch-buttons" role="group" aria-label="Run this notebook">'
        f'<a class="launch-button launch-binder" href="{html.escape(binder)}" '
        f'data-notebook="{html.escape(notebook)}">Launch on Binder</a>'
        f'<a class="launch-button launch-local" href="{html.escape(local)}" '
        f'data-notebook="{html.escape(notebook)}">Open in your JupyterLab</a>'
        '<span class="launch-note">Your JupyterLab: start it with <code>make lab</code> in the '
        "repository first.</span></div>"
    )
    section = doctree.next_node(nodes.section)
    if section is None:
        logger.warning("notebook %s has no title: no launch buttons", docname)
        return
    section.insert(1, nodes.raw("", markup, format="html"))


def glossary_terms(app: Sphinx) -> list[tuple[str, str, str, str, str]]:
    """``[(term, docname, anchor, tooltip, entry)]``, longest term first.

    ``entry`` names the glossary entry: synonyms (rotation, refresh-token rotation) share it.
    """
    std: Any = app.env.get_domain("std")
    tooltips: dict[str, tuple[str, str]] = {}
    if GLOSSARY in app.env.all_docs:
        for item in app.env.get_doctree(GLOSSARY).findall(nodes.definition_list_item):
            definition = item.next_node(nodes.definition)
            text = " ".join(definition.astext().split()) if definition else ""
            first = re.split(r"(?<=\.)\s", text, maxsplit=1)[0]
            names = [term.astext().lower() for term in item.findall(nodes.term)]
            for name in names:
                tooltips[name] = (first, names[0])
    terms = [
        (name, doc, anchor, *tooltips.get(name.lower(), ("", name.lower())))
        for (kind, name), (doc, anchor) in std.objects.items()
        if kind == "term"
    ]
    return sorted(terms, key=lambda t: -len(t[0]))


def link_terms(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    if docname == GLOSSARY or app.builder.format != "html":
        return
    terms = glossary_terms(app)
    if not terms:
        return
    by_lower = {term[0].lower(): term for term in terms}
    pattern = re.compile(
        r"(?<![\w-])(" + "|".join(re.escape(t[0]) for t in terms) + r")(?:s|es)?(?![\w-])",
        re.IGNORECASE,
    )
    linked: set[str] = set()
    for text in list(doctree.findall(nodes.Text)):
        if not _linkable(text):
            continue
        parts: list[nodes.Node] = []
        source, last = str(text), 0
        for match in pattern.finditer(source):
            _, doc, anchor, tip, entry = by_lower[match.group(1).lower()]
            if entry in linked:  # one link per entry and page: its first appearance
                continue
            linked.add(entry)
            uri = app.builder.get_relative_uri(docname, doc) + "#" + anchor
            ref = nodes.reference("", "", internal=True, refuri=uri, classes=["glossary-term"])
            if tip:
                ref["reftitle"] = tip
            ref += nodes.Text(match.group(0))
            parts += [nodes.Text(source[last : match.start()]), ref]
            last = match.end()
        if parts:
            parts.append(nodes.Text(source[last:]))
            text.parent.replace(text, parts)


def _linkable(text: nodes.Text) -> bool:
    node = text.parent
    while node is not None:
        if isinstance(node, NO_LINKS):
            return False
        classes = node.get("classes", []) if isinstance(node, nodes.Element) else []
        if "cell_output" in classes or "launch-buttons" in classes:
            return False
        node = node.parent
    return True


def no_mermaid_without_a_doctree(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    """sphinxcontrib-mermaid loads mermaid on pages it cannot look into: Sphinx's own."""
    if doctree is not None:  # a page of ours: mermaid's own check has decided
        return
    scripts = context.get("script_files")
    if isinstance(scripts, list):
        scripts[:] = [js for js in scripts if MERMAID_ENTRY not in js.attributes.get("body", "")]


# pydata-sphinx-theme loads Font Awesome twice on every page: its CSS with the webfonts (in
# pydata-sphinx-theme.css: every icon class, as a glyph), which draws the theme's icons by
# itself, and fontawesome.js (1.5 MB: all free icons as SVG data, parsed and run on each
# page, to turn each <i class="fa-..."> into an inline <svg>, and a MutationObserver on the
# whole document for new ones), there "so that users can add custom icons". This site adds
# none. Without it the same icons are drawn from the font (a button a few pixels wider), and
# each page costs the reader's browser less CPU: the website test's walk, 26 page loads, about
# 2.5 s less of Chromium's. ``layout.html`` (in _templates/) passes the theme's <head> assets
# through this filter.
FONTAWESOME_JS = re.compile(
    r'\s*<script defer src="[^"]*_static/scripts/fontawesome\.js[^"]*"></script>'
)


def without_fontawesome_js(head: str) -> Markup:
    """The theme's <head> assets without the script tag that loads fontawesome.js."""
    kept, removed = FONTAWESOME_JS.subn("", str(head))
    if removed != 1:  # the theme changed how it loads it: say so rather than keep it
        raise ValueError(
            f"expected one fontawesome.js <script> in the theme's <head>, not {removed}"
        )
    return Markup(kept)  # noqa: S704  (the theme's own markup, less one tag)


def add_template_filters(app: Sphinx) -> None:
    templates = getattr(app.builder, "templates", None)
    if templates is not None and hasattr(templates, "environment"):
        templates.environment.filters["without_fontawesome_js"] = without_fontawesome_js


def copy_mermaid(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    entry = MERMAID_DIST / MERMAID_ENTRY
    if not entry.is_file():
        raise FileNotFoundError(
            f"{entry} is missing: run `make site-deps` (npm ci) to install mermaid from npm"
        )
    target = Path(app.outdir) / "_static" / "mermaid"
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy2(entry, target / MERMAID_ENTRY)
    chunks = MERMAID_DIST / "chunks" / "mermaid.esm.min"
    shutil.copytree(
        chunks,
        target / "chunks" / "mermaid.esm.min",
        ignore=shutil.ignore_patterns("*.map"),
        dirs_exist_ok=True,
    )


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_config_value("tutorial_repository", "OWNER/session-tutorial", "html")
    app.add_config_value("tutorial_local_lab", "http://localhost:8888/lab/tree/", "html")
    app.add_js_file(None, body=SETTLE_THEME, priority=100)  # classic and inline: runs at once
    app.connect("doctree-read", launch_buttons)
    app.connect("doctree-resolved", link_terms)
    app.connect("html-page-context", no_mermaid_without_a_doctree, priority=900)  # after mermaid's
    app.connect("builder-inited", add_template_filters)
    app.connect("build-finished", copy_mermaid)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
