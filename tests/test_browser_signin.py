"""Sign in with the browser, in a real JupyterLab in Debian's Chromium (Playwright).

The learner presses **Sign in with the browser** in notebook 01; the tenant's page opens in a
new tab; they sign in there and the tab says they may close it; the widget turns to "Signed
in as ...". A second sign-in meets single sign-on ("Continue as Ada Lovelace?"). After a kernel
restart notebook 02 restores the session. In notebook 04 they sign out of the tenant in their
own browser, and the next browser sign-in asks for the password again.

Screenshots go to ``test-artifacts/browser-signin/``; the login page and the SSO prompt are the
README's ``docs/images/login-page.png`` and ``docs/images/sso-continue.png`` (written when
missing, replaced with ``SESSION_TUTORIAL_UPDATE_SCREENSHOT=1``, as in test_browser.py).
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

import pytest

# The fixtures (home, lab_env, lab, page) are found by name in this module's namespace.
from tests.test_browser import (  # noqa: F401
    EMAIL,
    NAME,
    PASSWORD,
    ROOT,
    STEP,
    UPDATE_IMAGE,
    Lab,
    home,
    kernel_idle,
    lab,
    lab_env,
    menu,
    notebook,
    open_notebook,
    page,
    ran,
    run_all,
    to_top,
)

ARTIFACTS = ROOT / "test-artifacts" / "browser-signin"
IMAGES = ROOT / "docs" / "images"

pytestmark = [pytest.mark.integration]


def shot(tab, name: str, readme: str | None = None) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    tab.screenshot(path=str(path))
    if readme is not None:
        target = IMAGES / readme
        if os.environ.get(UPDATE_IMAGE) == "1" or not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
    return path


def run_above(jlab, panel, cell_text: str, expected: str) -> None:
    """Run every cell above the one after the cell holding ``cell_text`` (clear outputs first)."""
    cell = panel.locator(".jp-Cell", has_text=cell_text).first
    below = cell.locator("xpath=following-sibling::div[contains(@class,'jp-Cell')][1]")
    below.locator(".jp-InputPrompt, .jp-InputArea").first.click()
    menu(jlab, "Edit", "Clear Outputs of All Cells")
    menu(jlab, "Run", "Run All Above Selected Cell")
    ran(panel, expected)


def sign_in_in_a_new_tab(jlab, widget, *, expect_password: bool, name: str, readme=None):
    """Press the widget's button, open its link: the tenant's tab. Sign in there; the tab."""
    from playwright.sync_api import expect

    widget.locator(".st-browser-button").click()
    expect(widget.locator(".st-status")).to_contain_text("Waiting for you to sign in")
    link = widget.locator(".st-open-tenant")
    expect(link).to_have_attribute("target", "_blank")
    with jlab.context.expect_page() as opened:
        link.click()
    tab = opened.value
    tab.wait_for_load_state()
    if expect_password:
        expect(tab.get_by_role("heading", name="Welcome")).to_be_visible()
        # Found by their accessible names, as a screen reader announces them.
        email, password = tab.get_by_label("Email address"), tab.get_by_label("Password")
        expect(email).to_be_focused()
        shot(tab, f"{name}-login-page", readme)
        email.fill(EMAIL)
        password.fill(PASSWORD)
        tab.get_by_role("button", name="Continue", exact=True).click()
    else:
        expect(tab.get_by_role("heading", name=f"Continue as {NAME}?")).to_be_visible()
        expect(tab.locator("#st-warning")).to_contain_text("An application on this computer")
        assert tab.get_by_label("Password").count() == 0
        shot(tab, f"{name}-continue-as", readme)
        tab.get_by_role("button", name=f"Continue as {NAME}").click()
    expect(tab.locator("h1")).to_have_text("Signed in")
    expect(tab.locator("#st-callback")).to_contain_text("you can close this tab")
    shot(tab, f"{name}-tab-says-close")
    tab.close()
    expect(widget.locator(".st-status")).to_contain_text(f"Signed in as {NAME} ({EMAIL})")


def test_the_login_page_reads_at_200_percent_zoom(page, lab_env: dict[str, str]) -> None:  # noqa: F811
    from session_tutorial.pkce import authorization_request
    from session_tutorial.provider import background
    from session_tutorial.tenant import Tenant

    running = background.status(Path(lab_env["SESSION_TUTORIAL_TENANT_DIR"]))
    assert running is not None
    request = authorization_request(
        Tenant(running.url, "tutorial-app"), "http://127.0.0.1:9/callback"
    )
    # 200% zoom of a 1280 x 800 window lays the page out in 640 x 400 CSS pixels.
    page.set_viewport_size({"width": 640, "height": 400})
    page.goto(request.url)
    width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"scrolls sideways at 200%: {width}"
    page.keyboard.press("Tab")  # from the email field to the password field: a visible ring
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"
    shot(page, "0-login-page-200-percent")


def test_a_learner_signs_in_with_the_browser_restores_and_signs_out_of_the_tenant(
    page,  # noqa: F811
    lab: Lab,  # noqa: F811
) -> None:
    from playwright.sync_api import expect

    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    expect.set_options(timeout=STEP)  # notebook 04 plays three sign-ins: longer than 5 s
    try:
        page.goto(f"{lab.url}lab/tree/01-save-the-token.ipynb?token={lab.token}")
        nb01 = notebook(page, "01-save-the-token.ipynb")
        kernel_idle(nb01)
        run_above(page, nb01, "browser_login = BrowserLoginWidget(session)", "signed out")
        widget = nb01.locator(".st-browser-login").first
        to_top(nb01.locator(".jp-Cell", has=page.locator(".st-browser-login")).first)
        sign_in_in_a_new_tab(page, widget, expect_password=True, name="1", readme="login-page.png")
        shot(page, "1-notebook-signed-in")
        # A second sign-in: the tenant remembers the browser and only asks to continue.
        sign_in_in_a_new_tab(
            page, widget, expect_password=False, name="2", readme="sso-continue.png"
        )

        # The next launch: restart the kernel, notebook 02 restores from the keychain.
        menu(page, "Kernel", "Restart Kernel…")
        page.locator(".jp-Dialog-button", has_text="Restart").click()
        kernel_idle(nb01)
        nb02 = open_notebook(page, "02-restore-the-session.ipynb")
        run_all(page, nb02, "Nothing is stored: the user is signed out.")
        card = nb02.locator(".st-profile-card")
        expect(card.first).to_contain_text(NAME)
        to_top(nb02.locator(".jp-Cell", has=page.locator(".st-profile-card")).first)
        shot(page, "3-restored")

        # Notebook 04: sign out of the tenant in this browser; then the password is asked.
        nb04 = open_notebook(page, "04-sign-out.ipynb")
        run_all(page, nb04, "Starting signed out")
        sign_out = nb04.locator(".st-sign-out-link a, a.st-sign-out-link").first
        with page.context.expect_page() as opened:
            sign_out.click()
        logged_out = opened.value
        logged_out.wait_for_load_state()
        expect(logged_out.locator("h1")).to_have_text("Signed out")
        logged_out.close()
        widget04 = nb04.locator(".st-browser-login").first
        to_top(nb04.locator(".jp-Cell", has=page.locator(".st-browser-login")).first)
        sign_in_in_a_new_tab(page, widget04, expect_password=True, name="4")
        shot(page, "4-signed-in-again")
    except Exception:
        with contextlib.suppress(Exception):
            shot(page, "failure")
        print("".join(lab.lines[-60:]))
        raise
