"""The browser's JCS and envelope signing (``static/jcs.js``, ``static/sign.js``) against Python's.

Ed25519 is deterministic (RFC 8032), so an envelope signed in chromium with an actor's PKCS#8 PEM
key file must equal, byte for byte, the one Python signed with the same key: the test re-signs one
envelope of every event type of a demo ledger (as recorded) and hand-built values at the edges of
the ledger's JSON (non-ASCII, escapes, nesting, the largest integers), and checks that the browser
refuses what the ledger refuses (floats, integers beyond ±(2^53−1), lone surrogates).
"""

from __future__ import annotations

import subprocess
import sys
from typing import TYPE_CHECKING, Any

import pytest

from ledger.domain.envelope import key_id_of, public_key_bytes
from ledger.encoding.b64 import b64encode
from ledger.encoding.canonical import canonical, check_value, loads_strict
from ledger.errors import InvalidJSON
from ledger.keys.keystore import Keystore
from support.web import Site, console_errors

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def site(module_site: Site) -> Site:
    """One server for the module: the tests only read its log and keys."""
    return module_site


EDGES: list[Any] = [
    {"z": 1, "a": 2, "B": 3, "_": 4, "aa": {"b": [], "a": {}}},
    {"text": "西吉县吉强镇 · 培训补贴 ¥800 — “引号” 😀 \u00e9\u0301"},
    {"escapes": '"\\/\b\f\n\r\t\u0000\u0001\u001f\u007f\u2028\u2029\ufeff'},
    {"nested": [[[[{"deep": [1, [2, [3, {"x": None}]]]}]]]], "t": True, "f": False},
    {"max": 2**53 - 1, "min": -(2**53 - 1), "zero": 0, "neg": -1, "fen": 80000},
    ["array", "at", "top", 1, None],
    "a bare string",
    9007199254740991,
]

JS_CANONICAL = """async (values) => {
  const { canonicalBytes } = await import('/static/jcs.js');
  const { b64encode } = await import('/static/sign.js');
  return values.map((v) => b64encode(canonicalBytes(v)));
}"""

JS_SIGN = """async ([items, pems]) => {
  const sign = await import('/static/sign.js');
  const keys = {};
  for (const [actor, pem] of Object.entries(pems)) keys[actor] = await sign.keyFromPem(pem);
  const out = [];
  for (const unsigned of items) out.push(await sign.signEnvelope(unsigned, keys[unsigned.actor]));
  return { envelopes: out, keyIds: Object.fromEntries(Object.entries(keys).map(([a, k]) => [a, k.keyId])) };
}"""

JS_REFUSES = """async (texts) => {
  const { canonicalize } = await import('/static/jcs.js');
  return texts.map((t) => { try { canonicalize(JSON.parse(t)); return 'accepted'; }
                            catch (e) { return e.name + ': ' + e.message; } });
}"""


def one_of_each_type(site: Site) -> list[dict[str, Any]]:
    out = subprocess.run([sys.executable, "-m", "api", "log", "--json"], cwd=site.dir, capture_output=True,
                         text=True, timeout=120, check=True).stdout  # fmt: skip
    seen: dict[str, dict[str, Any]] = {}
    for line in out.splitlines():
        envelope = loads_strict(line)["envelope"]
        seen.setdefault(envelope["type"], envelope)
    return list(seen.values())


def test_browser_canonical_bytes_equal_pythons(page: Page, site: Site) -> None:
    page.goto("/signin")
    envelopes = one_of_each_type(site)
    values = EDGES + envelopes
    got = page.evaluate(JS_CANONICAL, values)
    assert got == [b64encode(canonical(v)) for v in values]
    assert len(envelopes) >= 20  # the demo's log holds most of EVENTS.md's types
    assert console_errors(page) == []


def test_browser_signed_envelopes_equal_pythons_for_every_event_type(page: Page, site: Site) -> None:
    page.goto("/signin")
    envelopes = one_of_each_type(site)
    store = Keystore(site.keys)
    actors = sorted({e["actor"] for e in envelopes})
    pems = {a: store.actor_path(a).read_text() for a in actors}
    unsigned = [{k: v for k, v in e.items() if k not in ("v", "key_id", "sig")} for e in envelopes]
    got = page.evaluate(JS_SIGN, [unsigned, pems])
    assert got["keyIds"] == {a: key_id_of(public_key_bytes(store.actor_key(a))) for a in actors}
    for mine, recorded in zip(got["envelopes"], envelopes, strict=True):
        assert canonical(mine) == canonical(recorded), recorded["type"]


REFUSED = ['{"amount": 1.5}', "9007199254740992", '{"x": -9007199254740992}', '"\\ud800"', '{"键": 1}']


def python_refuses(text: str) -> bool:
    try:
        check_value(loads_strict(text))
    except InvalidJSON:
        return True
    return False


def test_browser_refuses_what_the_ledger_refuses(page: Page, site: Site) -> None:
    page.goto("/signin")
    assert all(python_refuses(text) for text in REFUSED)
    got = page.evaluate(JS_REFUSES, REFUSED)
    assert all(result.startswith("NotCanonical: ") for result in got), got
