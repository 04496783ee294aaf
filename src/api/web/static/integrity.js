// The integrity page: the inclusion proof the server checked, recomputed here with WebCrypto SHA-256
// (RFC 6962 §2.1: leaf hash = SHA-256(0x00 || leaf), node = SHA-256(0x01 || left || right);
// the verification algorithm of RFC 9162 §2.1.3.2), so the reader need not trust the server's ✓.
import { b64decode, b64encode } from '/static/sign.js';

async function sha256(...parts) {
  const joined = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { joined.set(p, at); at += p.length; }
  return new Uint8Array(await crypto.subtle.digest('SHA-256', joined));
}

/** The root an inclusion path leads to from leafHash at index in a tree of size leaves (null: malformed). */
export async function rootFromInclusion(leafHash, index, size, path) {
  let fn = BigInt(index);
  let sn = BigInt(size) - 1n;
  if (fn > sn) return null;
  let r = leafHash;
  for (const p of path) {
    if (sn === 0n) return null;
    if ((fn & 1n) === 1n || fn === sn) {
      r = await sha256(Uint8Array.of(1), p, r);
      while ((fn & 1n) === 0n && fn !== 0n) { fn >>= 1n; sn >>= 1n; }
    } else {
      r = await sha256(Uint8Array.of(1), r, p);
    }
    fn >>= 1n; sn >>= 1n;
  }
  return sn === 0n ? r : null;
}

async function check(out) {
  const d = out.dataset;
  const leafHash = await sha256(Uint8Array.of(0), new TextEncoder().encode(d.leaf));
  const path = d.path ? d.path.split(' ').map(b64decode) : [];
  const root = await rootFromInclusion(leafHash, d.index, d.size, path);
  const ok = b64encode(leafHash) === d.leafHash && root !== null && b64encode(root) === d.root;
  out.textContent = ok ? d.ok : d.bad;
  out.dataset.verified = ok ? 'true' : 'false';
  out.classList.toggle('error-text', !ok);
}

const out = document.getElementById('browser-check');
if (out) check(out).catch((err) => { out.textContent = `${out.dataset.bad} (${err.message})`; out.dataset.verified = 'false'; });
