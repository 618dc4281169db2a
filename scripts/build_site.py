"""Builds the tutorial's website: lays out its pages from what the repository has, runs Sphinx.

    python scripts/build_site.py [--out build/site] [--stage build/site-src]

(``make site`` runs it.) The pages come from files others keep, so that the site cannot drift
from them; nothing is executed, no tenant or keychain is needed:

- ``README.md``, split at its level-2 headings into pages (``README_PAGES`` says which go
  together; a new heading becomes a page of its own), its intro the home page;
- ``notebooks/NN-*.ipynb``, one page each with the committed outputs (myst-nb never runs them);
  after each exercise's ``# %load solutions/X.py`` cell, that solution in a closed dropdown;
- ``docs/instructor-guide.md`` and ``docs/images/``;
- the error catalogue, made from the docstrings of ``session_tutorial/errors.py``;
- ``docs/site/``: Sphinx's ``conf.py``, the glossary and the site's extension and styles;
- any other repository file a page links to, shown as a page of source code.

Links between these files are rewritten to the pages they became (``README.md#anchor`` to the
page holding that heading). The demo users' passwords are replaced in the text and code the
site shows (``«demo password»``), never in notebook outputs, where one would be a leak that
``tests/test_site.py`` must see. The staged sources go to ``--stage``, the site to ``--out``.
"""

from __future__ import annotations

import argparse
import inspect
import json
import math
import os
import posixpath
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SITE_CONF = ROOT / "docs" / "site"
NOTEBOOKS = ROOT / "notebooks"
DEFAULT_OUT = ROOT / "build" / "site"
DEFAULT_STAGE = ROOT / "build" / "site-src"
PASSWORD_STAND_IN = "«demo password»"
WORDS_PER_MINUTE = 200


@dataclass
class Page:
    """A page of the site made of README sections (the first one's heading is its title)."""

    name: str
    sections: list[str]
    needs: str
    body: str = field(default="", repr=False)


# README sections that make up each page, in the site's order. Unlisted sections get a page each.
README_PAGES = [
    Page(
        "journey", ["The journey", "Two commands"], "nothing; to run it, Python 3.10+ and `make`."
    ),
    Page("own-code", ["Use it from your own code"], "notebooks 01–04, or tokens and a keychain."),
    Page("local-tenant", ["The local tenant"], "a shell; `curl` for the examples."),
    Page("own-auth0", ["Use your own Auth0 tenant"], "an Auth0 account with a Native application."),
    Page("design", ["Design"], "[using the package from your own code](own-code.md)."),
    Page("performance", ["Performance and reliability"], "[the local tenant](local-tenant.md)."),
]
GUIDE = "docs/instructor-guide.md"
GUIDE_NEEDS = "to have run the tutorial once yourself."
ERRORS_NEEDS = "nothing; [notebook 03](notebooks/03-refresh-the-token.ipynb) shows most of these."
INDEX_NEEDS = "nothing."
SOURCE_NEEDS = "nothing: this is a file of the repository, shown as it is."
LOAD_CELL = re.compile(r"^#\s*%load\s+(solutions/[\w.-]+\.py)\s*$", re.MULTILINE)
LINK = re.compile(r"(!?\[[^\]]*\]\()([^)\s]+)(\))")
SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)


# ---- text helpers ---------------------------------------------------------------------------


def slugify(title: str) -> str:
    """The anchor MyST (and GitHub) make from a heading: what ``#anchor`` links name."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", title)  # a link's text only
    text = text.replace("`", "").replace("*", "")
    return re.sub(r"[^\w\- ]", "", text.strip().lower().replace(" ", "-"))


def demo_passwords() -> list[str]:
    from session_tutorial.provider.config import DEMO_USERS

    return [password for _, password, _ in DEMO_USERS]


def redact(text: str) -> str:
    """``text`` with every demo password replaced by ``PASSWORD_STAND_IN``."""
    for password in demo_passwords():
        text = text.replace(password, PASSWORD_STAND_IN)
    return text


def reading_minutes(text: str) -> int:
    return max(1, math.ceil(len(re.findall(r"\w+", text)) / WORDS_PER_MINUTE))


def facts(text: str, needs: str) -> str:
    """The line every page opens with, as the notebooks' first cells do."""
    return f"**Time:** about {reading_minutes(text)} min to read. **You need:** {needs}"


def with_facts(markdown: str, needs: str) -> str:
    """``markdown`` with the facts line right under its title (unless it has one already)."""
    if "**Time:**" in markdown and "**You need:**" in markdown:
        return markdown
    title, _, rest = markdown.partition("\n")
    return f"{title}\n\n{facts(rest, needs)}\n{rest}"


def fence_for(code: str) -> str:
    """A backtick fence longer than any inside ``code``."""
    return "`" * max([3, *(len(run) + 1 for run in re.findall(r"`{3,}", code))])


def split_h2(markdown: str) -> list[tuple[str, str]]:
    """``[(heading, text), ...]`` at each ``## `` outside code fences; the intro's heading is ""."""
    sections: list[tuple[str, list[str]]] = [("", [])]
    fence = ""
    for line in markdown.splitlines():
        marker = re.match(r"^\s*(`{3,}|~{3,})", line)
        if marker and (not fence or marker.group(1).startswith(fence)):
            fence = "" if fence else marker.group(1)
        if not fence and line.startswith("## "):
            sections.append((line[3:].strip(), []))
        else:
            sections[-1][1].append(line)
    return [(heading, "\n".join(lines).strip("\n")) for heading, lines in sections]


def shift_headings(markdown: str, by: int) -> str:
    """Every ATX heading outside code fences ``by`` levels up (negative) or down."""
    out, fence = [], ""
    for line in markdown.splitlines():
        marker = re.match(r"^\s*(`{3,}|~{3,})", line)
        if marker and (not fence or marker.group(1).startswith(fence)):
            fence = "" if fence else marker.group(1)
        heading = None if fence else re.match(r"^(#{1,6}) ", line)
        if heading:
            level = min(6, max(1, len(heading.group(1)) + by))
            line = "#" * level + line[len(heading.group(1)) :]
        out.append(line)
    return "\n".join(out)


def headings(markdown: str) -> list[str]:
    found, fence = [], ""
    for line in markdown.splitlines():
        marker = re.match(r"^\s*(`{3,}|~{3,})", line)
        if marker and (not fence or marker.group(1).startswith(fence)):
            fence = "" if fence else marker.group(1)
        heading = None if fence else re.match(r"^#{1,6} (.+)$", line)
        if heading:
            found.append(heading.group(1).strip())
    return found


# ---- the README's pages -----------------------------------------------------------------------


def readme_pages(readme: str) -> tuple[str, list[Page]]:
    """The home page's intro and the README's pages, each with its body ready to write."""
    sections = split_h2(readme)
    intro = sections[0][1]
    by_heading = dict(sections[1:])
    pages: list[Page] = []
    claimed: set[str] = set()
    for page in README_PAGES:
        present = [s for s in page.sections if s in by_heading]
        if present:
            pages.append(Page(page.name, present, page.needs))
            claimed.update(present)
    taken = {"index", "errors", "glossary", "genindex", "search", *(p.name for p in README_PAGES)}
    for heading, _ in sections[1:]:
        if heading not in claimed:
            name = slugify(heading)
            pages.append(Page(f"readme-{name}" if name in taken else name, [heading], "nothing."))
    for page in pages:
        first, *rest = page.sections
        parts = [shift_headings(f"## {first}\n\n{by_heading[first]}", -1)]
        parts += [f"## {heading}\n\n{by_heading[heading]}" for heading in rest]
        page.body = with_facts("\n\n".join(parts), page.needs)
    return intro, pages


def readme_anchors(pages: list[Page]) -> dict[str, str]:
    """``{anchor: page name}`` for every heading of the README's pages."""
    anchors: dict[str, str] = {}
    for page in pages:
        for heading in headings(page.body):
            anchors.setdefault(slugify(heading), page.name)
    return anchors


# ---- links --------------------------------------------------------------------------------


class Links:
    """Rewrites a page's links to the pages the linked files became."""

    def __init__(self, anchors: dict[str, str], titles: dict[str, str], staged: set[str]) -> None:
        self.anchors = anchors  # README anchor -> page name
        self.titles = titles  # page name -> its title's anchor
        self.staged = staged  # repository paths that are pages or assets of the site as they are
        self.sources: set[str] = set()  # repository files linked to, shown as source pages

    def rewrite(self, markdown: str, src: str, dest: str) -> str:
        """``markdown`` from repository path ``src``, staged at ``dest``, its links rewritten."""

        def one(match: re.Match[str]) -> str:
            target = match.group(2)
            if SCHEME.match(target) or target.startswith(("#", "/")):
                return match.group(0)
            path, hash_, anchor = target.partition("#")
            repo_path = posixpath.normpath(posixpath.join(posixpath.dirname(src), path))
            if repo_path == "README.md":
                page = self.anchors.get(anchor, "index") if anchor else "index"
                # A page's own title anchor is the page itself.
                keep = anchor and self.titles.get(page) != anchor
                new = f"{page}.md" + (f"#{anchor}" if keep else "")
            elif repo_path in self.staged:
                new = repo_path + (hash_ + anchor if anchor else "")
            elif (ROOT / repo_path).is_file():
                self.sources.add(repo_path)
                new = f"source/{repo_path}.md"
            else:
                return match.group(0)  # Sphinx reports it
            relative = posixpath.relpath(new, posixpath.dirname(dest) or ".")
            return match.group(1) + relative + match.group(3)

        return LINK.sub(one, markdown)


# ---- notebooks ----------------------------------------------------------------------------


def solution_cell(relative: str) -> dict:
    """A markdown cell: the solution file in a closed dropdown."""
    code = redact((NOTEBOOKS / relative).read_text()).rstrip("\n")
    fence = fence_for(code)
    source = (
        f":::{{dropdown}} A solution: `{relative}`\n"
        ":class-container: solution\n\n"
        f"{fence}python\n{code}\n{fence}\n:::\n"
    )
    return {
        "cell_type": "markdown",
        "id": f"solution-{Path(relative).stem}",
        "metadata": {},
        "source": source,
    }


def stage_notebook(path: Path, links: Links) -> dict:
    """The notebook's JSON as the site shows it: solutions in dropdowns, links rewritten."""
    nb = json.loads(path.read_text())
    src = f"notebooks/{path.name}"
    cells = []
    for cell in nb["cells"]:
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        source = redact(source)
        if cell["cell_type"] == "markdown":
            source = links.rewrite(source, src, src)
        cell["source"] = source
        cells.append(cell)
        if cell["cell_type"] == "code":
            for relative in LOAD_CELL.findall(source):
                cells.append(solution_cell(relative))
    nb["cells"] = cells
    return nb


def notebook_title(path: Path) -> str:
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            for line in "".join(cell["source"]).splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return path.stem


# ---- the error catalogue ------------------------------------------------------------------


@dataclass
class ErrorDoc:
    """What an error class's docstring says."""

    cls: type
    meaning: str
    when: str
    what_to_do: str


def error_classes() -> list[type]:
    """Every exception and warning class defined in ``session_tutorial.errors``, in tree order."""
    from session_tutorial import errors

    defined = [
        obj
        for obj in vars(errors).values()
        if inspect.isclass(obj)
        and obj.__module__ == errors.__name__
        and issubclass(obj, BaseException)
    ]
    ours = set(defined)

    def children(parent: type) -> list[type]:
        return [c for c in defined if next((b for b in c.__mro__[1:] if b in ours), None) is parent]

    ordered: list[type] = []

    def visit(cls: type) -> None:
        ordered.append(cls)
        for child in children(cls):
            visit(child)

    for root in children(None):  # type: ignore[arg-type]
        visit(root)
    return ordered


def error_doc(cls: type) -> ErrorDoc:
    """Parse a docstring: its first paragraph, a ``When:`` one and a ``What to do:`` one."""
    doc = inspect.cleandoc(cls.__doc__ or "")
    paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", doc) if p.strip()]
    parts = {"When:": "", "What to do:": ""}
    for paragraph in paragraphs[1:]:
        for label in parts:
            if paragraph.startswith(label):
                parts[label] = paragraph[len(label) :].strip()
    missing = [label for label, text in parts.items() if not text]
    if not paragraphs or missing:
        raise ValueError(
            f"{cls.__name__}'s docstring lacks {', '.join(missing) or 'a first line'}: "
            "write what it means, then 'When: ...' and 'What to do: ...' paragraphs"
        )
    return ErrorDoc(cls, paragraphs[0], parts["When:"], parts["What to do:"])


def rst_to_md(text: str) -> str:
    return text.replace("``", "`")


def error_catalogue() -> str:
    """The error catalogue's page (MyST markdown), from ``session_tutorial/errors.py``."""
    classes = error_classes()
    docs = [error_doc(cls) for cls in classes]
    ours = set(classes)

    def parent(cls: type) -> type | None:
        return next((b for b in cls.__mro__[1:] if b in ours), None)

    def depth(cls: type) -> int:
        up = parent(cls)
        return 0 if up is None else 1 + depth(up)

    tree = "\n".join(
        f"{'  ' * depth(d.cls)}- [`{d.cls.__name__}`](#{slugify(d.cls.__name__)}): "
        f"{rst_to_md(d.meaning)}"
        for d in docs
    )
    sections = []
    for d in docs:
        up = parent(d.cls)
        builtin = next(b for b in d.cls.__mro__[1:] if b.__module__ == "builtins")
        kind = (
            f"a [`{up.__name__}`](#{slugify(up.__name__)})"
            if up is not None
            else f"a `{builtin.__name__}`"
        )
        extra = [b.__name__ for b in d.cls.__bases__ if b is not up and b.__module__ == "builtins"]
        also = f", and a `{extra[0]}`" if extra else ""
        sections.append(
            f"## `{d.cls.__name__}`\n\n"
            f"*{kind}{also}* · `from session_tutorial.errors import {d.cls.__name__}`\n\n"
            f"What it means\n: {rst_to_md(d.meaning)}\n\n"
            f"When it happens\n: {rst_to_md(d.when)}\n\n"
            f"What to do\n: {rst_to_md(d.what_to_do)}\n"
        )
    body = (
        "Every error the `session_tutorial` package raises on purpose: what it means, when it "
        "happens and what to do. This page is made from the docstrings in "
        "[`session_tutorial/errors.py`](session_tutorial/errors.py) each time the site is "
        "built, so it says what the code says. Each error has `.retryable`: true when trying "
        "the same call again later may succeed (then the stored credentials are kept).\n\n"
        f"{tree}\n\n" + "\n".join(sections)
    )
    return with_facts(f"# Error catalogue\n\n{body}", ERRORS_NEEDS)


# ---- the whole site -----------------------------------------------------------------------


def source_page(repo_path: str) -> str:
    text = redact((ROOT / repo_path).read_text())
    language = {".py": "python", ".sh": "sh", ".toml": "toml", ".yml": "yaml"}.get(
        Path(repo_path).suffix, "text"
    )
    fence = fence_for(text)
    return with_facts(
        f"# Source: `{repo_path}`\n\n{fence}{language}\n{text.rstrip()}\n{fence}\n", SOURCE_NEEDS
    )


def index_page(intro: str, pages: list[Page], notebooks: list[Path], extra: list[str]) -> str:
    title, _, rest = intro.partition("\n")
    # No badge image from another site: the notebook pages have launch buttons.
    lines = [line for line in rest.splitlines() if "badge_logo.svg" not in line]
    # The README's bold tagline, when it has one, is the home page's title.
    tagline = next((line for line in lines if line.strip()), "")
    if re.fullmatch(r"\*\*[^*]+\*\*", tagline.strip()):
        title = "# " + tagline.strip().strip("*").rstrip(".")
        lines.remove(tagline)
    rest = "\n".join(lines)
    readme_names = [p.name for p in pages]
    start = [n for n in readme_names if n == "journey"]
    use = [n for n in readme_names if n in ("own-code", "local-tenant", "own-auth0")]
    about = [n for n in readme_names if n not in start + use]

    def toc(caption: str, entries: list[str]) -> str:
        lines = "\n".join(entries)
        return f"```{{toctree}}\n:caption: {caption}\n:maxdepth: 1\n\n{lines}\n```\n"

    body = (
        f"{rest.strip()}\n\n"
        "This website shows every notebook with its outputs as they were last run; the "
        "buttons at the top of each one open it to run yourself, on Binder or in your own "
        "JupyterLab. Words in the [glossary](glossary.md) are linked where they first appear "
        "on a page.\n\n"
        + toc("Start", start)
        + toc("The notebooks", [f"notebooks/{p.stem}" for p in notebooks])
        + toc("Use it", use)
        + toc("Reference", ["errors", "glossary", *extra])
        + toc("Teach it", ["docs/instructor-guide"])
        + toc("About", about)
    )
    return with_facts(f"{title}\n\n{body}", INDEX_NEEDS)


def stage(dest: Path) -> dict[str, list[str]]:
    """Write the site's sources to ``dest``; return what was staged (for tests)."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    readme = (ROOT / "README.md").read_text()
    intro, pages = readme_pages(readme)
    notebooks = sorted(NOTEBOOKS.glob("[0-9][0-9]-*.ipynb"))
    images = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "docs" / "images").glob("*"))
    staged = {f"notebooks/{p.name}" for p in notebooks} | {GUIDE, *images}
    titles = {p.name: slugify(headings(p.body)[0]) for p in pages}
    links = Links(readme_anchors(pages), titles, staged)

    def write(relative: str, text: str) -> None:
        (dest / relative).parent.mkdir(parents=True, exist_ok=True)
        (dest / relative).write_text(text)

    for page in pages:
        write(f"{page.name}.md", links.rewrite(redact(page.body), "README.md", f"{page.name}.md"))
    for path in notebooks:
        nb = stage_notebook(path, links)
        write(f"notebooks/{path.name}", json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    guide = with_facts(redact((ROOT / GUIDE).read_text()), GUIDE_NEEDS)
    write(GUIDE, links.rewrite(guide, GUIDE, GUIDE))
    for image in images:
        (dest / image).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / image, dest / image)
    write("errors.md", links.rewrite(error_catalogue(), "errors.md", "errors.md"))
    glossary = (SITE_CONF / "glossary.md").read_text()
    write("glossary.md", links.rewrite(glossary, "glossary.md", "glossary.md"))
    # Source pages last: the pages above decided which files are linked to.
    for repo_path in sorted(links.sources):
        write(f"source/{repo_path}.md", source_page(repo_path))
    extra = [f"source/{p}" for p in sorted(links.sources)]
    index = links.rewrite(
        redact(index_page(intro, pages, notebooks, extra)), "README.md", "index.md"
    )
    write("index.md", index)
    return {
        "notebook pages": [p.name for p in notebooks],
        "README pages": [p.name for p in pages],
        "source pages": extra,
    }


def build(out: Path, stage_dir: Path, *, strict: bool = True) -> int:
    staged = stage(stage_dir)
    command = [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-c", str(SITE_CONF)]
    if strict:
        command += ["-W", "--keep-going"]  # a broken link, anchor or directive fails the build
    command += ["-E", "-j", "1", str(stage_dir), str(out)]
    counts = ", ".join(f"{len(v)} {k}" for k, v in staged.items())
    print(f"site: {counts}; sphinx-build into {out}")
    return subprocess.call(command, cwd=ROOT, env={**os.environ, "PYTHONHASHSEED": "0"})  # noqa: S603


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the site")
    parser.add_argument("--stage", type=Path, default=DEFAULT_STAGE, help="the staged sources")
    parser.add_argument("--no-strict", action="store_true", help="warnings do not fail the build")
    args = parser.parse_args(argv)
    return build(args.out.resolve(), args.stage.resolve(), strict=not args.no_strict)


if __name__ == "__main__":
    sys.exit(main())
