"""The member directory, a member page and an error page in a real browser (Debian's chromium driven by
Playwright) at 1366x768 and 390x844, in Thai and English, as each role: axe-core finds no serious or critical
accessibility violation, nothing is cut off at phone width, the keyboard reaches the search and the map's
links, and the print stylesheet hides the navigation. Screenshots go to test-artifacts/screenshots/.

axe-core is the npm package, installed by .ci/run into .ci/node (``npm install --prefix .ci/node axe-core@4``);
set AXE_CORE_JS to use another copy of axe.min.js. Without it the tests skip and say so.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from test_browser import SHOTS, Visit, browser, server  # noqa: F401  (the shared browser and server fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
AXE = Path(os.environ.get("AXE_CORE_JS") or ROOT / ".ci" / "node" / "node_modules" / "axe-core" / "axe.min.js")
SIZES = {"wide": (1366, 768), "phone": (390, 844)}
ROLES = {"demo-desk": "desk", "demo-a0001": "member", "demo-analyst": "analyst"}


@pytest.fixture(scope="module")
def axe_source() -> str:
    if not AXE.exists():
        pytest.skip(f"axe-core is not installed at {AXE}: run `npm install --prefix .ci/node axe-core@4` (.ci/run "
                    f"does) or set AXE_CORE_JS to an axe.min.js")
    return AXE.read_text(encoding="utf-8")


def serious_violations(page, axe_source: str) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now (WCAG 2.x A and AA rules)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(axe_source + "\n;true")  # through DevTools: the page's CSP forbids inline scripts, rightly
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a',
                                                                           'wcag21aa', 'best-practice']}});
        return r.violations.map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map(n => n.target)}));
    }""")
    return [f"{v['id']} ({v['impact']}): {v['nodes']}" for v in result if v["impact"] in ("serious", "critical")]


def boxes_outside(page, width: int) -> list[str]:
    """Visible elements whose box reaches past the viewport's right edge (or starts left of 0)."""
    return page.evaluate("""(width) => {
        const out = [];
        for (const el of document.querySelectorAll('main *')) {
            const r = el.getBoundingClientRect();
            if (!r.width || !r.height) continue;
            const style = getComputedStyle(el);
            if (style.visibility === 'hidden' || el.closest('.visually-hidden, .dir-label, details:not([open])')) continue;
            if (el.closest('.table-wrap')) continue;  // tables scroll inside their own box
            if (r.right > width + 1 || r.left < -1) out.push(el.tagName + '.' + el.className + ' ' + Math.round(r.left) + '-' + Math.round(r.right));
        }
        return out.slice(0, 10);
    }""", width)


def check_page(visit, axe_source, name: str, width: int) -> None:
    page = visit.page
    page.wait_for_load_state("load")
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 1, f"{name}: no sideways scrolling"
    if width < 500:
        assert boxes_outside(page, width) == [], name
    visit.shot(name)
    assert serious_violations(page, axe_source) == [], name


def open_as(browser, server, account: str, lang: str, size: str):  # noqa: F811
    width, height = SIZES[size]
    visit = Visit(browser, server, width=width, height=height)
    visit.sign_in(account)
    if lang == "en":
        visit.go("/desk/lang/en")
    return visit


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("lang", ["th", "en"])
@pytest.mark.parametrize("account", list(ROLES))
def test_directory_member_and_error_pages_pass_axe_at_both_widths(browser, server, axe_source,  # noqa: F811
                                                                    account, lang, size):
    width = SIZES[size][0]
    visit = open_as(browser, server, account, lang, size)
    page = visit.page
    tag = f"{ROLES[account]}-{lang}-{size}"

    visit.go("/desk/directory?need=gmp_haccp")
    assert page.locator("html").get_attribute("lang") == lang
    assert page.locator("li.dir-item").count() == 20
    where = page.locator("#dir-where").inner_text()
    assert re.search(r"(หน้า 1 จาก \d+ · 1-20 จาก \d+)|(Page 1 of \d+ · 1-20 of \d+)", where), where
    assert page.locator("svg.tilemap-svg g.tile").count() == 77
    if size == "phone":
        first = page.locator("li.dir-item").first.bounding_box()
        second = page.locator("li.dir-item").nth(1).bounding_box()
        assert second["y"] >= first["y"] + first["height"] - 1, "cards stack on a phone"
        assert page.locator("li.dir-item .dir-label").first.is_visible(), "each card labels its fields"
    else:
        assert page.locator(".dir-head").is_visible(), "a list with column headings on a wide screen"
        assert page.locator("section.dir-map").bounding_box()["x"] > page.locator("section.dir-results").bounding_box()["x"]
    check_page(visit, axe_source, f"30-directory-{tag}", width)

    with page.expect_navigation():
        page.locator("li.dir-item .dir-name a").first.click()
    assert re.search(r"/desk/directory/[AC]\d{4}", page.url)
    assert page.locator("#offers-h").is_visible()
    check_page(visit, axe_source, f"31-member-{tag}", width)

    visit.go("/desk/no-such-page")
    heading = page.locator("h1").inner_text()
    assert heading.startswith("ไม่พบหน้าที่ต้องการ" if lang == "th" else "Page not found")
    assert page.locator("ul.next-steps a").count() >= 2
    check_page(visit, axe_source, f"32-error-404-{tag}", width)
    visit.close()


def test_the_keyboard_searches_and_opens_a_province_from_the_map(browser, server, axe_source):  # noqa: F811
    visit = open_as(browser, server, "demo-desk", "th", "wide")
    page = visit.go("/desk/directory")
    page.locator("#dir-name").focus()
    page.keyboard.type("สำนักงาน อุตสาหกรรม")
    with page.expect_navigation():
        page.keyboard.press("Enter")  # Enter in the name field sends the search (and nothing else)
    assert "name=" in page.url and page.locator("li.dir-item").count() > 0
    names = page.locator("li.dir-item .dir-name a").all_inner_texts()
    assert all("สำนักงานอุตสาหกรรม" in n.replace(" ", "") for n in names), names
    tile = page.locator("a.tile-link").first
    tile.focus()
    assert page.evaluate("document.activeElement.classList.contains('tile-link')")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "province=TH-" in page.url and page.locator("g.tile-selected").count() == 1
    visit.shot("33-directory-keyboard-province")
    visit.close()


def test_a_styled_403_and_the_print_stylesheet(browser, server, axe_source):  # noqa: F811
    visit = open_as(browser, server, "demo-a0001", "th", "phone")
    page = visit.go("/desk/dashboard")
    assert page.locator("h1").inner_text().startswith("ไม่มีสิทธิ์เปิดหน้านี้")
    check_page(visit, axe_source, "34-error-403-th-phone", SIZES["phone"][0])
    page.set_viewport_size({"width": 1366, "height": 768})
    visit.go("/desk/directory/A0001")
    page.emulate_media(media="print")
    assert not page.locator("header.top nav").is_visible() and not page.locator(".back-link").is_visible()
    colour = page.evaluate("getComputedStyle(document.body).color")
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert colour == "rgb(0, 0, 0)" and background in ("rgb(255, 255, 255)", "rgba(0, 0, 0, 0)")
    visit.shot("35-member-print")
    page.emulate_media(media="screen")
    visit.close()
