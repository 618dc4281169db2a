"""Sphinx configuration of the tutorial's website (built by ``make site``: scripts/build_site.py).

Sphinx + myst-nb render the committed notebooks (never executed), with sphinx-book-theme (light
and dark), sphinx-design (solution dropdowns) and sphinxcontrib-mermaid (diagrams, drawn by the
mermaid.js bundled from npm). The sources are staged by scripts/build_site.py.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))

import lazy_executors  # noqa: E402  (in _ext/)

# Nothing is executed (nb_execution_mode below): myst-nb's executors are not imported either.
lazy_executors.install()

# The one setting: the GitHub repository the Binder launch buttons (and the repository link)
# name. The GitHub Pages workflow sets it to the repository it runs in.
repository = os.environ.get("SESSION_TUTORIAL_REPOSITORY", "OWNER/session-tutorial")

project = "Keep a user signed in"
author = "session-tutorial contributors"
copyright = "the session-tutorial contributors, MIT licence"
language = "en"

extensions = ["myst_nb", "sphinx_design", "sphinxcontrib.mermaid", "tutorial_site"]
exclude_patterns = ["**.ipynb_checkpoints"]

# Notebooks: the committed outputs, as they are. Never execute (no tenant, no keychain here).
nb_execution_mode = "off"
# Widgets have no saved state (scripts/execute_notebooks.py strips it): show their text repr.
nb_mime_priority_overrides = [("html", "application/vnd.jupyter.widget-view+json", None)]
nb_merge_streams = True

myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 4
myst_fence_as_directive = ["mermaid"]
# The build is strict (-W): a broken link or anchor fails it. A heading that skips a level
# in a notebook does not: it reads fine.
suppress_warnings = ["myst.header"]

mermaid_use_local = "mermaid/mermaid.esm.min.mjs"  # copied there by tutorial_site
mermaid_version = ""
mermaid_fullscreen_button = "⤢"  # a glyph common fonts have (the default one often is not)

tutorial_repository = repository
tutorial_local_lab = "http://localhost:8888/lab/tree/"

html_theme = "sphinx_book_theme"
html_title = "Keep a user signed in"
html_static_path = [str(HERE / "_static")]
templates_path = [str(HERE / "_templates")]
html_favicon = str(HERE / "_static" / "favicon.svg")
html_context = {"default_mode": "auto"}  # light or dark as the reader's system says; a toggle
html_css_files = ["site.css"]
html_last_updated_fmt = None
html_copy_source = True
html_theme_options = {
    "repository_url": f"https://github.com/{repository}",
    "use_repository_button": True,
    "use_download_button": True,
    "home_page_in_toc": True,
    "show_toc_level": 2,
    "navigation_with_keys": False,
}
