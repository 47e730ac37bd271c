"""axe-core on every screen and state of tests/browser/screens.py, on a phone and a laptop.

Each state is reached as its user would reach it, checked by axe-core (the npm package,
injected into the page) and saved as test-artifacts/screens/<screen>-<width>.png. A
critical or serious violation anywhere fails the walk, listing every one found.
"""

import pytest

from tests.browser.pages import sign_in
from tests.browser.screens import NOBODY, SCREENS, prepare, reach, watch_htmx
from tests.checkers import AXE, require
from tests.conftest import ARTIFACTS

pytestmark = pytest.mark.django_db(transaction=True)

SIZES = {"phone": (390, 844), "laptop": (1366, 900)}

RUN_AXE = """async () => {
  const results = await axe.run(document, {resultTypes: ["violations"]});
  return results.violations
    .filter((v) => v.impact === "critical" || v.impact === "serious")
    .map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      targets: v.nodes.map((n) => n.target.join(" ")),
    }));
}"""


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    # axe-core is injected as a script of the page, which the site's CSP rightly refuses.
    return {**browser_context_args, "bypass_csp": True}


def serious_violations(page) -> list[dict]:
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    return page.evaluate(RUN_AXE)


@pytest.mark.parametrize("size", SIZES)
def test_no_serious_accessibility_violation_on_any_screen(page, live_server, size):
    require(AXE)
    ids = prepare()
    width, height = SIZES[size]
    page.set_viewport_size({"width": width, "height": height})
    watch_htmx(page)
    folder = ARTIFACTS / "screens"
    folder.mkdir(parents=True, exist_ok=True)
    found, signed_in = [], "nobody yet"
    for screen in SCREENS:
        if screen.who != signed_in:
            if screen.who is NOBODY:
                page.context.clear_cookies()
            else:
                sign_in(page, live_server, screen.who)
            signed_in = screen.who
        reach(page, live_server.url, screen, ids)
        page.screenshot(path=str(folder / f"{screen.name}-{width}.png"), full_page=True)
        for violation in serious_violations(page):
            found.append(
                f"{screen.name} ({screen.url}): {violation['impact']} {violation['id']}: "
                f"{violation['help']} at {', '.join(violation['targets'][:5])}"
            )
    assert not found, f"{len(found)} violations at {width}px:\n" + "\n".join(found)
