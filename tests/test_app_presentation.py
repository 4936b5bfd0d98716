"""The Draw page's presentation layout and its "How the app sees it" steps, driven headlessly with AppTest.

The layout itself (sizes, the folded sidebar, the scaled canvas) is checked in
a real browser by ``tests/test_e2e_layout.py``; here: ``?present=1`` and the
toggle agree, the layout's style is on the page only while presenting, and
the steps come as pictures of one size.
"""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from pages.internals import PRESENT_STYLE
from pages.presentation import KEY, PARAM
from tests.test_app_pages import APP, TIMEOUT, assert_ok, digit_png

STEPS = ("1. ", "2. ", "3. ", "4. ", "5. ")


def draw_page(query: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.query_params.update(query or {})
    at.switch_page("pages/draw.py").run()
    assert_ok(at)
    return at


def style_shown(at: AppTest) -> bool:
    return any(PRESENT_STYLE in str(getattr(e.proto, "body", "")) for e in at.get("html"))


def test_the_address_turns_the_presentation_layout_on() -> None:
    at = draw_page({PARAM: "1"})
    assert at.toggle(key=KEY).value is True and style_shown(at)
    at.toggle(key=KEY).set_value(False).run()  # the presenter switches it off: the address follows
    assert_ok(at)
    assert PARAM not in at.query_params and not style_shown(at)
    assert at.toggle(key=KEY).value is False


def test_the_toggle_turns_it_on_and_the_usual_page_has_none_of_it() -> None:
    at = draw_page()
    assert at.toggle(key=KEY).value is False and not style_shown(at)
    at.toggle(key=KEY).set_value(True).run()
    assert_ok(at)
    assert at.query_params.get(PARAM) == "1" and style_shown(at)
    assert draw_page({PARAM: "0"}).toggle(key=KEY).value is False  # only present=1 presents


def test_the_steps_are_shown_in_order_with_their_captions() -> None:
    """Each step once, in order (their one size is checked in core's tests and in the browser)."""
    at = draw_page()
    at.radio[0].set_value("Upload a photo").run()
    at.file_uploader[0].set_value(("one.png", digit_png(), "image/png")).run()
    at.toggle(key="show_steps").set_value(True).run()
    assert_ok(at)
    shown = [i for e in at.get("image") for i in e.proto.imgs if i.caption.startswith(STEPS)]
    assert [i.caption[:3] for i in shown] == list(STEPS), [i.caption for i in shown]
    assert all(i.url.endswith(".png") for i in shown)  # lossless: the pixels are the point
