"""This browser's identity: read from its cookie, or issued now and given to it as a cookie.

Streamlit reads the cookies a browser sent when its session connected
(``st.context.cookies``) but cannot set one, so :func:`keep_cookie` sends a
small script that sets it (``SameSite=Lax``, a long ``Max-Age``, ``Secure``
under HTTPS). It is never put in the URL: links to settings are meant to be
shared. A missing, malformed or forged cookie gets a fresh identity (see
``core.identity``).

``AppTest`` cannot send cookies: a test puts a cookie's value in
``st.session_state[TOKEN_KEY]`` before the first run instead.
"""

from __future__ import annotations

import streamlit as st

from core.identity import COOKIE_MAX_AGE, COOKIE_NAME, Identity, shared_issuer

__all__ = ["TOKEN_KEY", "keep_cookie", "person"]

#: Session-state key standing in for the cookie in tests.
TOKEN_KEY = "digit_studio_cookie"
_IDENTITY = "digit_studio_identity"
_FRESH = "digit_studio_identity_fresh"


def person() -> Identity:
    """Who this session is, decided on its first run and kept for the session."""
    if _IDENTITY not in st.session_state:
        token = st.session_state.get(TOKEN_KEY) or st.context.cookies.get(COOKIE_NAME)
        identity, fresh = shared_issuer().recognise(token)
        st.session_state[_IDENTITY], st.session_state[_FRESH] = identity, fresh
    return st.session_state[_IDENTITY]


def cookie_script(identity: Identity) -> str:
    """The script that stores ``identity``'s token in this browser's cookie."""
    # The token is base64url and one dot: nothing in it can break out of the string.
    return (
        "<script>document.cookie = "
        f"'{COOKIE_NAME}={identity.token}; Max-Age={COOKIE_MAX_AGE}; Path=/; "
        "SameSite=Lax' + (location.protocol === 'https:' ? '; Secure' : '');</script>"
    )


def keep_cookie() -> None:
    """Give the browser its cookie when this session's identity is new (on every run: the script must stay put)."""
    identity = person()
    if st.session_state.get(_FRESH):
        st.sidebar.html(cookie_script(identity), unsafe_allow_javascript=True)
