"""The tutorial as a website (``make site``), built once and walked in a real browser.

The first tests need no browser: the error catalogue is made from ``session_tutorial/errors.py``
and every error class documents what it means, when it happens and what to do; the README's
pages keep their links; the GitHub Pages workflow builds with ``make site``.

The rest build the site once (``scripts/build_site.py``, strict: a warning fails it) and walk
every page in Debian's Chromium driven by Playwright, as ``tests/test_browser.py`` does, over
a local HTTP server: no console error, every mermaid diagram drawn as an SVG in the page's light
or dark theme (also on the first page after the reader's system changed scheme), every launch
button on its own notebook, solutions closed until clicked, and an axe-core audit (npm, injected
into each page) with no serious or critical violation. Links, anchors and secrets are checked
in the built files. They need Node (npm installs mermaid and axe-core): skipped where it is
missing. Screenshots go to ``test-artifacts/site/``; two of them are the README's
``docs/images/site-*.png``, written when missing and replaced only when
``SESSION_TUTORIAL_UPDATE_SCREENSHOT=1`` is set.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import yaml

from scripts import build_site
from session_tutorial import errors
from session_tutorial.provider.config import DEMO_USERS
from tests.chromium import CHROMIUM, CHROMIUM_ARGS, VIEWPORT

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts" / "site"
UPDATE_IMAGE = "SESSION_TUTORIAL_UPDATE_SCREENSHOT"
README_IMAGES = {  # page, colour scheme -> the README's screenshot
    ("notebooks/01-save-the-token.html", "light"): ROOT / "docs" / "images" / "site-notebook.png",
    ("journey.html", "dark"): ROOT / "docs" / "images" / "site-journey-dark.png",
}
# The site's one setting (docs/site/conf.py): the repository its Binder buttons name.
REPOSITORY = os.environ.get("SESSION_TUTORIAL_REPOSITORY", "OWNER/session-tutorial")
STEP = 30_000  # ms: the most a page may take to load or draw on a loaded machine; no wait
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
JWT_SHAPED = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
TEXT_SUFFIXES = {".html", ".js", ".mjs", ".txt", ".md", ".ipynb", ".json", ".css", ".inv"}


# ---- without a browser ----------------------------------------------------------------------


def test_every_error_class_says_what_it_means_when_it_happens_and_what_to_do() -> None:
    classes = build_site.error_classes()
    defined = {
        name
        for name, obj in vars(errors).items()
        if isinstance(obj, type)
        and issubclass(obj, BaseException)
        and obj.__module__ == errors.__name__
    }

    assert {cls.__name__ for cls in classes} == defined
    for cls in classes:
        doc = build_site.error_doc(cls)  # raises, naming what is missing
        assert doc.meaning and doc.when and doc.what_to_do


def test_error_catalogue_has_a_section_for_each_class_in_tree_order() -> None:
    page = build_site.error_catalogue()
    names = [cls.__name__ for cls in build_site.error_classes()]
    positions = [page.index(f"## `{name}`") for name in names]

    assert names[0] == "SessionError"
    assert positions == sorted(positions)
    assert "**Time:**" in page and "**You need:**" in page
    assert "`from session_tutorial.errors import CorruptEntry`" in page


def test_an_error_class_without_when_or_what_to_do_fails_the_build() -> None:
    class Undocumented(errors.SessionError):
        """Something went wrong.

        When: sometimes.
        """

    with pytest.raises(ValueError, match="lacks What to do:"):
        build_site.error_doc(Undocumented)


def test_readme_sections_split_outside_code_fences_only() -> None:
    readme = "# T\n\nintro\n\n## A\n\n```sh\n## not a heading\n```\n\n### A1\n\n## B\n\nb\n"

    assert [h for h, _ in build_site.split_h2(readme)] == ["", "A", "B"]
    assert build_site.shift_headings("### A1\n```\n### x\n```", -1) == "## A1\n```\n### x\n```"


def test_a_new_readme_section_becomes_a_page_of_its_own_without_replacing_one() -> None:
    _, made = build_site.readme_pages("# T\n\nx\n\n## Errors\n\ny\n\n## New thing\n\nz\n")

    assert [p.name for p in made] == ["readme-errors", "new-thing"]
    assert made[1].body.startswith("# New thing\n\n**Time:**")


def test_links_to_the_readme_go_to_the_page_that_holds_the_heading() -> None:
    _, pages = build_site.readme_pages((ROOT / "README.md").read_text())
    titles = {p.name: build_site.slugify(build_site.headings(p.body)[0]) for p in pages}
    links = build_site.Links(build_site.readme_anchors(pages), titles, {"docs/instructor-guide.md"})
    md = "[a](../README.md#teaching-controls) [b](../README.md#design) [c](../examples/whoami.py)"

    out = links.rewrite(md, "notebooks/06-x.ipynb", "notebooks/06-x.ipynb")

    assert out == (
        "[a](../local-tenant.md#teaching-controls) [b](../design.md) "
        "[c](../source/examples/whoami.py.md)"
    )


def test_demo_passwords_never_reach_the_pages_text() -> None:
    for _, password, _ in DEMO_USERS:
        assert password not in build_site.redact(f"the password `{password}`, then")


def test_the_site_renders_committed_outputs_and_loads_mermaid_from_its_own_files() -> None:
    conf_path = ROOT / "docs" / "site" / "conf.py"
    conf: dict[str, object] = {"__file__": str(conf_path)}
    exec(compile(conf_path.read_text(), str(conf_path), "exec"), conf)

    assert conf["nb_execution_mode"] == "off"  # never executed: no tenant, no keychain
    assert conf["mermaid_use_local"] == "mermaid/mermaid.esm.min.mjs"  # bundled, not a CDN
    assert conf["tutorial_repository"] == REPOSITORY


def test_github_pages_workflow_builds_with_make_site_and_deploys_build_site() -> None:
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "site.yml").read_text())
    steps = [step for job in workflow["jobs"].values() for step in job["steps"]]
    runs = " ".join(str(step.get("run", "")) for step in steps)
    uses = {str(step.get("uses", "")).split("@")[0]: step for step in steps}

    assert "make site" in runs
    assert uses["actions/upload-pages-artifact"]["with"]["path"] == "build/site"
    assert "actions/deploy-pages" in uses
    assert workflow["permissions"] == {"contents": "read", "pages": "write", "id-token": "write"}
    env = {k: v for job in workflow["jobs"].values() for k, v in job.get("env", {}).items()}
    assert env["SESSION_TUTORIAL_REPOSITORY"] == "${{ github.repository }}"


# ---- the built site -------------------------------------------------------------------------


if importlib.util.find_spec("xdist") is not None:
    # Under pytest -n N --dist loadgroup, one worker builds and walks the site, once.
    pytestmark = pytest.mark.xdist_group("site")

needs_node = pytest.mark.skipif(
    shutil.which("node") is None or shutil.which("npm") is None,
    reason="Node and npm install mermaid and axe-core (package.json): not on this machine",
)


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site, built once from the work tree (npm's packages installed first if missing)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("Node and npm install mermaid and axe-core (package.json): not here")
    if not (AXE.is_file() and (ROOT / "node_modules" / "mermaid" / "package.json").is_file()):
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=ROOT, check=True)
    base = tmp_path_factory.mktemp("site")
    rc = build_site.build(base / "site", base / "src")
    assert rc == 0, "sphinx-build failed: its warnings are above (run `make site` to see them)"
    return base / "site"


def pages(site: Path) -> list[str]:
    """Every HTML page of the site, relative to it (Sphinx's index pages included)."""
    found = (p.relative_to(site) for p in site.rglob("*.html"))
    return sorted(p.as_posix() for p in found if not p.parts[0].startswith("_"))  # not _static/


class _Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.links: list[tuple[str, str]] = []  # (tag, url)
        self.images_without_alt: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for key in ("id", "name") if tag == "a" else ("id",):
            if values.get(key):
                self.ids.add(str(values[key]))
        for key in ("href", "src"):
            if values.get(key):
                self.links.append((tag, str(values[key])))
        if tag == "img" and not (values.get("alt") or "").strip():
            self.images_without_alt.append(str(values.get("src")))


@functools.cache
def _parse(path: Path) -> _Anchors:
    parser = _Anchors()
    parser.feed(path.read_text(errors="replace"))
    return parser


@needs_node
def test_the_site_has_every_page_the_issue_names_in_order(site: Path) -> None:
    notebooks = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))
    index = (site / "index.html").read_text()
    expected = [
        "journey.html",
        *(f"notebooks/{n}.html" for n in notebooks),
        "own-code.html",
        "local-tenant.html",
        "errors.html",
        "glossary.html",
        "docs/instructor-guide.html",
    ]
    nav = re.findall(r'class="reference internal" href="([^"#]+)"', index)

    for page in expected:
        assert (site / page).is_file(), page
    # The sidebar lists the notebooks in their order.
    notebook_links = [link for link in nav if link.startswith("notebooks/")]
    assert notebook_links[: len(notebooks)] == [f"notebooks/{n}.html" for n in notebooks]
    assert "Teaching controls" in (site / "local-tenant.html").read_text()


@needs_node
def test_every_page_says_its_time_and_prerequisites(site: Path) -> None:
    content = [p for p in pages(site) if p not in ("genindex.html", "search.html")]
    for page in content:
        text = (site / page).read_text()
        assert "Time:" in text and "You need:" in text, page


@needs_node
def test_every_internal_link_and_anchor_resolves_and_nothing_loads_from_elsewhere(
    site: Path,
) -> None:
    broken, external = [], []
    for page in pages(site):
        path = site / page
        for tag, url in _parse(path).links:
            parts = urlsplit(url)
            if parts.scheme in ("http", "https") or url.startswith("//"):
                if tag != "a":  # a script, stylesheet or image from another site
                    external.append(f"{page}: <{tag}> {url}")
                continue
            if parts.scheme:  # mailto:, javascript: and such
                continue
            target = (path.parent / unquote(parts.path)).resolve() if parts.path else path
            if target.is_dir():
                target = target / "index.html"
            if not target.is_file():
                broken.append(f"{page}: {url}")
            elif (
                parts.fragment
                and target.suffix == ".html"
                and unquote(parts.fragment) not in _parse(target).ids
            ):
                broken.append(f"{page}: {url} (no such anchor)")

    assert not broken, "\n".join(broken)
    assert not external, "\n".join(external)


@needs_node
def test_glossary_terms_are_linked_where_they_first_appear_but_not_in_code_or_headings(
    site: Path,
) -> None:
    glossary_ids = _parse(site / "glossary.html").ids
    link = re.compile(r'<a class="glossary-term[^"]*" href="[^"#]*glossary\.html#([^"]+)"')
    for page in pages(site):
        html = (site / page).read_text()
        anchors = link.findall(html)
        assert len(anchors) == len(set(anchors)), f"{page}: a term linked twice"
        assert set(anchors) <= glossary_ids, page
        for block in re.findall(r"<pre.*?</pre>|<h[1-6].*?</h[1-6]>", html, re.DOTALL):
            assert "glossary-term" not in block, page
    refresh = link.findall((site / "notebooks" / "03-refresh-the-token.html").read_text())
    assert {"term-refresh-token", "term-rotation", "term-reuse-detection"} <= set(refresh)


@needs_node
def test_no_page_loads_font_awesomes_javascript(site: Path) -> None:
    # Its icons are drawn from the theme's webfont (docs/site/_ext/tutorial_site.py says why).
    loading = [
        page
        for page in pages(site)
        if any(
            tag == "script" and "fontawesome.js" in url for tag, url in _parse(site / page).links
        )
    ]

    assert "fa-solid" in (site / "journey.html").read_text()  # the theme's icons are there
    assert not loading


@needs_node
def test_every_image_has_alt_text(site: Path) -> None:
    missing = {page: _parse(site / page).images_without_alt for page in pages(site)}
    images = sum(len(re.findall(r"<img ", (site / page).read_text())) for page in pages(site))

    assert images >= 1
    assert not {page: srcs for page, srcs in missing.items() if srcs}


@needs_node
def test_no_jwt_shaped_string_or_demo_password_in_the_built_site(site: Path) -> None:
    passwords = [password for _, password, _ in DEMO_USERS]
    found = []
    for path in site.rglob("*"):
        if path.is_file() and path.suffix in TEXT_SUFFIXES:
            text = path.read_text(errors="replace")
            for match in JWT_SHAPED.finditer(text):
                found.append(f"{path.relative_to(site)}: a JWT {match.group(0)[:12]}…")
            found += [f"{path.relative_to(site)}: a demo password" for p in passwords if p in text]

    assert not found, "\n".join(found)


@needs_node
def test_every_error_class_has_its_section_in_the_built_catalogue(site: Path) -> None:
    ids = _parse(site / "errors.html").ids
    for cls in build_site.error_classes():
        assert build_site.slugify(cls.__name__) in ids, cls.__name__


# ---- in Chromium ----------------------------------------------------------------------------


@dataclass
class Visit:
    """What one page did in the browser."""

    scheme: str = ""  # the reader's system's: prefers-color-scheme
    turned: bool = False  # the first page loaded after the scheme changed
    theme: str = ""  # the page's: <html data-theme>
    inks: list[str] = field(default_factory=list)  # each diagram's text colour, rgb(...)
    console: list[str] = field(default_factory=list)
    diagrams: int = 0
    svgs: int = 0
    launch: list[tuple[str, str, str]] = field(default_factory=list)  # (class, href, notebook)
    violations: list[str] = field(default_factory=list)
    solutions: list[tuple[bool, bool, bool, bool, str]] = field(default_factory=list)
    found: list[str] = field(default_factory=list)  # search results, on the search page


# Where the test's server also serves axe-core, outside the site's own files: a script with a
# URL is parsed once and then taken from Chromium's caches, where a script injected as text
# (``add_script_tag(path=...)``) was parsed again on every page (about 0.2 s of CPU each).
AXE_PATH = "/_test-only/axe.min.js"


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass

    def translate_path(self, path: str) -> str:
        if urlsplit(path).path == AXE_PATH:
            return str(AXE)
        return super().translate_path(path)


@contextlib.contextmanager
def serve(directory: Path) -> Iterator[str]:
    handler = functools.partial(_Quiet, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def chromium() -> Iterator[object]:
    if not sys.platform.startswith("linux") or not CHROMIUM.exists():
        pytest.skip(f"Debian's Chromium ({CHROMIUM}, scripts/system-deps.sh) is missing")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


# What the tests read from each page once its diagrams are drawn, and its axe-core audit, in one
# call (each call is a round trip through Playwright). First it waits, on each animation frame
# (as ``wait_for_function`` polls), until every visible diagram is drawn (mermaid replaces the
# text with an <svg>) or there is none to draw. Then its diagrams, launch buttons and solution
# dropdowns, the page's theme and each diagram's text colour (mermaid's textColor: dark in its
# light theme, light in its dark one); axe-core loaded from the test's server (a ``<script
# src>``, as ``add_script_tag`` adds it) and run with every rule it has, as configured by
# default; only what nothing reads is left out: the results' passes and incompletes
# (resultTypes) and each node's HTML snippet (noHtml; a violation still names its element by
# ``target``, its CSS selector). Last, the sidebar scrolled to its top: the theme keeps its
# scroll from page to page, and a screenshot shows each page from its top.
AUDIT = """async ([axeUrl, step]) => {
  const deadline = performance.now() + step;
  while (!(DRAWN)()) {
    if (performance.now() > deadline) throw new Error(`a diagram not drawn in ${step} ms`);
    await new Promise(resolve => requestAnimationFrame(resolve));
  }
  const facts = {
    diagrams: document.querySelectorAll('.mermaid').length,
    svgs: document.querySelectorAll('.mermaid > svg').length,
    theme: document.documentElement.dataset.theme,
    inks: [...document.querySelectorAll('.mermaid > svg')].map(s => getComputedStyle(s).fill),
    launch: [...document.querySelectorAll('.launch-button')].map(
      b => [b.getAttribute('class'), b.getAttribute('href'), b.getAttribute('data-notebook')]),
    solutions: document.querySelectorAll('details.solution').length,
  };
  await new Promise((resolve, reject) => {
    const script = document.createElement('script');
    script.src = axeUrl;
    script.onload = resolve;
    script.onerror = () => reject(new Error(`axe-core did not load from ${axeUrl}`));
    document.head.appendChild(script);
  });
  axe.configure({noHtml: true});
  const result = await axe.run(document, {resultTypes: ['violations']});
  facts.violations = result.violations
    .filter(v => v.impact === 'serious' || v.impact === 'critical')
    .map(v => `${v.impact} ${v.id}: ${v.help} (${v.nodes.length}x, e.g. ${v.nodes[0].target})`);
  document.querySelectorAll('.bd-sidebar-primary, .bd-sidebar-primary *')
    .forEach(e => { e.scrollTop = 0; });
  return facts;
}"""


MERMAID = 'class="mermaid"'  # a diagram in a page's HTML
# A diagram is drawn when its <svg> is its child: while mermaid draws it, the element holds a
# <div> with an unfinished, unstyled <svg> in which it measures the text (seen by this walk).
DRAWN = (
    "() => [...document.querySelectorAll('.mermaid')].every(d => d.querySelector(':scope > svg'))"
)
AUDIT = AUDIT.replace("DRAWN", DRAWN)
# Between two clicks on a page's solutions, in one call: the one just clicked (i - 1) as it is
# now, and the next (i) as it is before its click, with the point a click on it goes to. Each
# state: [open, its code visible, its code's text], visible as Playwright's ``is_visible()``
# says (its injected script's test: rendered, ``visibility: visible``, a box that is not
# empty). The point: the centre of its summary, scrolled into view if it is not, and whether
# that point hits the summary (Playwright's check before it clicks there, as this test does).
SOLUTION_STEP = """(i) => {
  const state = (dropdown) => {
    const code = dropdown.querySelector('pre');
    const box = code.getBoundingClientRect();
    const visible = code.checkVisibility() && getComputedStyle(code).visibility === 'visible'
      && box.width > 0 && box.height > 0;
    return [dropdown.hasAttribute('open'), visible, code.innerText];
  };
  const dropdowns = document.querySelectorAll('details.solution');
  const step = {clicked: i ? state(dropdowns[i - 1]) : null};
  if (i < dropdowns.length) {
    const summary = dropdowns[i].querySelector('summary');
    summary.scrollIntoView({behavior: 'instant', block: 'nearest', inline: 'nearest'});
    const box = summary.getBoundingClientRect();
    const [x, y] = [box.left + box.width / 2, box.top + box.height / 2];
    Object.assign(step, {next: state(dropdowns[i]), x, y,
                         hits: summary.contains(document.elementFromPoint(x, y))});
  }
  return step;
}"""


@pytest.fixture(scope="session")
def walk(site: Path) -> dict[str, Visit]:
    """Every page once in Chromium (light; the README's two also dark): console, diagrams, audit."""
    visits: dict[str, Visit] = {}
    current = [Visit()]  # the page being visited, whose console the handlers fill

    def log(line: str) -> None:
        current[0].console.append(line)

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with serve(site) as base, chromium() as browser:
        # One tab for both schemes, as a reader whose system turns dark and back: each page is
        # loaded anew in the scheme it is walked in (prefers-color-scheme, which the theme
        # follows, keeping the last theme it used in localStorage). The dark pass comes in the
        # middle of the light one, where both of its ends load a page with a diagram: the first
        # page after each change is where the theme and mermaid once disagreed.
        light = pages(site)
        turn = next(i for i, p in enumerate(light) if i and MERMAID in (site / p).read_text())
        dark = [page for page, _ in README_IMAGES]
        plan = [(p, "light") for p in light[:turn]] + [(p, "dark") for p in dark]
        plan += [(p, "light") for p in light[turn:]]
        context = browser.new_context(viewport=VIEWPORT)  # type: ignore[attr-defined]
        tab = context.new_page()
        # A response of 400 or more is a console error too: Chromium logs "Failed to load
        # resource: the server responded with a status of N" with its URL for each one, the
        # page itself included (seen for scripts, module imports, stylesheets, fonts, CSS
        # and <img> images, preloads, fetch() and the document). A listener on every
        # response as well cost about 0.5 s of CPU over the walk and saw nothing more.
        tab.on("console", lambda msg: msg.type == "error" and log(console_error(msg)))
        tab.on("pageerror", lambda exc: log(f"uncaught: {exc}"))
        tab.on("requestfailed", lambda req: log(f"failed: {req.url}"))
        before = ""  # the scheme the page before was loaded in
        for page, scheme in plan:
            turned = bool(before) and scheme != before
            if scheme != before:
                tab.emulate_media(color_scheme=scheme)
            before = scheme
            visit = current[0] = visits[f"{page} ({scheme})"] = Visit(scheme, turned)
            tab.goto(base + page, wait_until="load", timeout=STEP)
            facts = tab.evaluate(AUDIT, [base + AXE_PATH.lstrip("/"), STEP])
            visit.diagrams, visit.svgs = facts["diagrams"], facts["svgs"]
            visit.theme, visit.inks = facts["theme"], facts["inks"]
            visit.launch = [(str(c), str(h), str(n)) for c, h, n in facts["launch"]]
            visit.violations = facts["violations"]
            screenshot(tab, page, scheme)
            if scheme == "light" and facts["solutions"]:
                visit.solutions = open_solutions(tab, facts["solutions"])
        # The search box's page answers offline, from its index. Last: it goes on fetching
        # its results' pages after the first is shown, and a page loaded next would cut that.
        tab.emulate_media(color_scheme="light")
        visit = current[0] = visits["search.html?q=rotation (light)"] = Visit()
        tab.goto(base + "search.html?q=rotation", wait_until="load", timeout=STEP)
        tab.wait_for_function(
            "() => document.querySelectorAll('#search-results li a').length > 0",
            timeout=STEP,
        )
        visit.found = tab.locator("#search-results li a").all_inner_texts()
        context.close()
    return visits


def console_error(msg: object) -> str:
    """A console error as the test reports it: its text and, where it has one, its URL."""
    url = msg.location.get("url")  # type: ignore[attr-defined]
    return f"{msg.text} ({url})" if url else str(msg.text)  # type: ignore[attr-defined]


def open_solutions(tab: object, count: int) -> list[tuple[bool, bool, bool, bool, str]]:
    """For each solution: (open, code visible) before a click on it, the same after, its code.

    Each is clicked with the mouse at its summary's centre, as Playwright's ``click()`` on it
    does, but without its locators (which inject its selector engine into the page, about
    65 ms of CPU each) and a round trip for each attribute: one call before each click, and
    one after the last.
    """
    seen, before = [], None
    for i in range(count + 1):
        step = tab.evaluate(SOLUTION_STEP, i)  # type: ignore[attr-defined]
        if before is not None:
            after = step["clicked"]
            seen.append((before[0], before[1], after[0], after[1], str(after[2]).strip()))
        if i == count:
            break
        assert "next" in step, f"{count} solutions counted, {i} found"
        assert step["hits"], f"solution {i + 1}: something covers its summary where a click goes"
        before = step["next"]
        tab.mouse.click(step["x"], step["y"])  # type: ignore[attr-defined]
    return seen


def screenshot(tab: object, page: str, scheme: str) -> None:
    name = page.replace("/", "-").removesuffix(".html")  # its sidebar at its top (AUDIT)
    if page in {shown for shown, _ in README_IMAGES}:  # in each scheme walked
        tab.screenshot(path=str(ARTIFACTS / f"{name}-{scheme}.png"))  # type: ignore[attr-defined]
    image = README_IMAGES.get((page, scheme))
    if image is not None and (not image.exists() or os.environ.get(UPDATE_IMAGE) == "1"):
        shutil.copy2(ARTIFACTS / f"{name}-{scheme}.png", image)


@needs_node
def test_every_page_loads_without_a_console_error(walk: dict[str, Visit]) -> None:
    errors_seen = {page: v.console for page, v in walk.items() if v.console}

    assert not errors_seen


@needs_node
def test_search_finds_pages_offline(walk: dict[str, Visit]) -> None:
    found = walk["search.html?q=rotation (light)"].found

    assert "Glossary" in found
    assert any(title.startswith("03 ·") for title in found), found


@needs_node
def test_every_mermaid_diagram_became_an_svg(walk: dict[str, Visit]) -> None:
    drawn = {page: (v.diagrams, v.svgs) for page, v in walk.items() if v.diagrams}

    assert drawn["journey.html (light)"][0] >= 1
    assert drawn["notebooks/00-start-here.html (light)"][0] >= 1
    assert all(diagrams == svgs for diagrams, svgs in drawn.values()), drawn


def light_ink(colour: str) -> bool:
    """Whether a CSS ``rgb(r, g, b)`` colour is light (its perceived brightness)."""
    r, g, b = (int(x) for x in re.findall(r"\d+", colour)[:3])
    return r * 299 + g * 587 + b * 114 > 128 * 1000


@needs_node
def test_diagrams_are_drawn_in_the_pages_theme_also_right_after_a_scheme_change(
    walk: dict[str, Visit],
) -> None:
    audited = {page: v for page, v in walk.items() if v.theme}
    turned = {v.scheme for v in audited.values() if v.turned and v.diagrams}
    # Light text on a dark page, dark text on a light one; the page as the system says.
    wrong = {
        page: (v.theme, v.inks)
        for page, v in audited.items()
        if v.theme != v.scheme or any(light_ink(ink) != (v.theme == "dark") for ink in v.inks)
    }

    assert turned == {"light", "dark"}  # the walk turned both ways on pages with a diagram
    assert all(len(v.inks) == v.svgs for v in audited.values())
    assert not wrong, wrong


@needs_node
def test_every_notebook_page_launches_its_own_notebook(walk: dict[str, Visit]) -> None:
    notebooks = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))
    for name in notebooks:
        visit = walk[f"notebooks/{name.removesuffix('.ipynb')}.html (light)"]
        hrefs = {cls.split()[-1]: href for cls, href, _ in visit.launch}
        assert hrefs["launch-binder"] == (
            f"https://mybinder.org/v2/gh/{REPOSITORY}/HEAD?urlpath=lab/tree/notebooks/{name}"
        )
        # `make lab` serves notebooks/ (Makefile), so the local address has no folder.
        assert hrefs["launch-local"] == f"http://localhost:8888/lab/tree/{name}"
    assert "notebooks/00-start-here.ipynb" in (ROOT / "Makefile").read_text()
    others = [page for page, v in walk.items() if v.launch and "notebooks/" not in page]
    assert not others


@needs_node
def test_no_serious_or_critical_accessibility_violation(walk: dict[str, Visit]) -> None:
    violations = {page: v.violations for page, v in walk.items() if v.violations}

    assert not violations


@needs_node
def test_solutions_stay_closed_until_clicked(walk: dict[str, Visit]) -> None:
    solutions = {page: v.solutions for page, v in walk.items() if v.solutions}
    found = [s for page in solutions.values() for s in page]

    assert len(found) == len(list((ROOT / "notebooks" / "solutions").glob("*.py")))
    for page, seen in solutions.items():
        assert page.startswith("notebooks/"), page
        for was_open, was_visible, is_open, is_visible, code in seen:
            assert (was_open, was_visible) == (False, False), page
            assert (is_open, is_visible) == (True, True), page
            assert code, page
