"""core.identity: issued ids are unguessable and signed; forged or malformed cookies get a fresh identity."""

from __future__ import annotations

import stat
import threading

import pytest

from core.identity import ID_BYTES, SECRET_FILE, Identity, IdentityIssuer, load_secret, owner_of


@pytest.fixture
def issuer(tmp_path) -> IdentityIssuer:
    return IdentityIssuer.in_folder(tmp_path)


def test_an_issued_identity_verifies_and_keeps_its_owner(issuer):
    person = issuer.issue()
    again = issuer.verify(person.token)
    assert again == person
    assert len(person.owner) == 32 and person.owner != person.token.split(".")[0]


def test_ids_carry_at_least_128_random_bits_and_differ(issuer):
    assert ID_BYTES * 8 >= 128
    tokens = {issuer.issue().token for _ in range(200)}
    assert len(tokens) == 200
    person_id, signature = next(iter(tokens)).split(".")
    assert len(person_id) * 6 >= 128  # base64url: 6 bits a character


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # signature changed
        lambda t: ("A" if t[0] != "A" else "B") + t[1:],  # id changed, old signature
        lambda t: t.split(".")[0],  # no signature
        lambda t: t.split(".")[0] + "." + "A" * 43,  # made-up signature
        lambda t: t + "=",  # trailing junk
        lambda t: " " + t,
        lambda t: t.replace(".", ":"),
        lambda t: t.upper(),
    ],
)
def test_a_forged_token_is_rejected(issuer, mangle):
    token = issuer.issue().token
    assert issuer.verify(mangle(token)) is None


@pytest.mark.parametrize(
    "value", [None, "", "x", 42, b"bytes", "a" * 10_000, "é" * 76, "../../etc/passwd", "A" * 32 + "." + "A" * 42 + "\n"]
)
def test_a_malformed_cookie_is_rejected(issuer, value):
    assert issuer.verify(value) is None


def test_another_servers_token_is_rejected(tmp_path, issuer):
    other = IdentityIssuer.in_folder(tmp_path / "elsewhere")
    assert issuer.verify(other.issue().token) is None


def test_recognise_gives_a_fresh_identity_for_anything_that_does_not_verify(issuer):
    known = issuer.issue()
    assert issuer.recognise(known.token) == (known, False)
    fresh, is_fresh = issuer.recognise("forged." + "A" * 43)
    assert is_fresh and issuer.verify(fresh.token) == fresh and fresh.owner != known.owner


def test_the_secret_is_created_once_private_and_reused(tmp_path):
    first = load_secret(tmp_path)
    assert load_secret(tmp_path) == first and len(first) == 32
    mode = stat.S_IMODE((tmp_path / SECRET_FILE).stat().st_mode)
    assert mode & 0o077 == 0, oct(mode)
    assert not [p for p in tmp_path.iterdir() if p.name != SECRET_FILE]  # no temporary file left


def test_servers_starting_together_share_one_secret(tmp_path):
    found: list[bytes] = []
    threads = [threading.Thread(target=lambda: found.append(load_secret(tmp_path))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(found) == 8 and len(set(found)) == 1


def test_a_too_short_secret_is_refused(tmp_path):
    with pytest.raises(ValueError):
        IdentityIssuer(b"short")
    (tmp_path / SECRET_FILE).write_text("abcd")
    with pytest.raises(ValueError):
        load_secret(tmp_path)


def test_the_token_never_shows_in_a_repr(issuer):
    person = issuer.issue()
    assert person.token not in repr(person) and person.owner in repr(person)
    assert repr(Identity("t", "o")) == "Identity(owner='o')"


def test_owner_keys_are_stable_and_distinct():
    assert owner_of("abc") == owner_of("abc") != owner_of("abd")
