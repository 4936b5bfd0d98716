"""core.settings_lock: the controls a settings link locks, read from untrusted text."""

from __future__ import annotations

from core.settings_lock import lock_text, parse_lock

FIELDS = ("arch", "epochs", "batch_size", "dropout", "learning_rate", "augment", "train_size", "seed")


def test_a_lock_names_controls_in_any_order_and_case() -> None:
    assert parse_lock("Epochs, arch,,arch", FIELDS) == (["arch", "epochs"], [])
    assert parse_lock("all", FIELDS) == (list(FIELDS), [])
    assert parse_lock(None, FIELDS) == ([], []) and parse_lock("", FIELDS) == ([], [])


def test_unknown_names_are_reported_briefly_and_ignored() -> None:
    locked, problems = parse_lock("dropout,<b>x</b>," + "y" * 500 + ",a,b,c,d,e", FIELDS)
    assert locked == ["dropout"]
    assert len(problems) == 5 and problems[0].startswith("Ignored lock='<b>x</b>'")
    assert all(len(p) < 200 for p in problems)


def test_lock_text_round_trips() -> None:
    for names in (["dropout"], ["seed", "arch"], list(FIELDS), []):
        assert parse_lock(lock_text(names, FIELDS), FIELDS)[0] == [f for f in FIELDS if f in names]
    assert lock_text(FIELDS, FIELDS) == "all" and lock_text([], FIELDS) == ""
