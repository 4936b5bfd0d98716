"""Small display helpers several pages share."""

from __future__ import annotations

import streamlit as st


def show_pixels(image, caption, *, where=None, **kwargs) -> None:
    """``st.image`` for images whose exact pixels matter (previews, MNIST digits).

    Streamlit sends an image without an alpha channel as JPEG; its artefacts would
    blur the very pixels a preview is there to show, so these go as lossless PNG.

    Args:
        image: What ``st.image`` accepts (an array, or a list of arrays).
        caption: Caption (or one per image).
        where: The container to draw in (a column, say); default the page.
        **kwargs: More ``st.image`` arguments (``width``, …).
    """
    (where or st).image(image, caption=caption, output_format="PNG", **kwargs)
