"""User-facing text: Chinese first, English with ``--lang en`` (GLOSSARY.md terms).

The one place a language is chosen (STYLE.md habit 1: display code lives only in ``api``). The
ledger never picks one: a :class:`~ledger.errors.LedgerError`'s English is ``str(error)`` and its
Chinese, where it has one, ``error.zh``. Message tables stay beside the verbs that print them —
each maps a key to ``(中文, English)`` — and are passed to :func:`say`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # types only: choosing a language loads neither the ledger nor its database drivers
    from ledger.application import Outcome
    from ledger.errors import LedgerError

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")
Table = Mapping[str, tuple[str, str]]


def as_lang(value: str) -> Lang | None:
    """``value`` as a language this front end speaks, or None."""
    return "zh" if value == "zh" else "en" if value == "en" else None


def pick(lang: Lang, zh: str, en: str) -> str:
    """One text of a pair written in place."""
    return zh if lang == "zh" else en


def say(table: Table, key: str, lang: Lang, /, **kw: object) -> str:
    """``table[key]`` in ``lang``, formatted with ``kw``; a key the table lacks (a code it does not
    name yet, such as a new severity) is shown as itself rather than hidden."""
    zh, en = table.get(key, (key, key))
    return pick(lang, zh, en).format(**kw)


def error_text(error: LedgerError, lang: Lang) -> str:
    """An error's message in ``lang``: its Chinese where it has one, else its English."""
    return error.zh if lang == "zh" and error.zh else str(error)


def reason_text(outcome: Outcome, lang: Lang) -> str | None:
    """A refused envelope's reason in ``lang`` (an :class:`Outcome` carries both texts)."""
    return outcome.reason_zh if lang == "zh" and outcome.reason_zh else outcome.reason
