"""What every browser test does on the way to what it tests: sign in, wait for a popup."""

from playwright.sync_api import expect

DEMO_PASSWORD = "kajaccess-demo"


def sign_in(page, live_server, email="creator@example.com", password=DEMO_PASSWORD):
    page.context.clear_cookies()
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def popup(page):
    """The popup, once htmx has wired up its controls (it does so right after it opens)."""
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(page.locator("#dialog-slot .htmx-added")).to_have_count(0)
    return dialog
