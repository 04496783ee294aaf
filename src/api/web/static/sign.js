// Signing in the browser with the organisation's key file (DESIGN §13): the key is read locally
// from a PKCS#8 PEM file, imported into WebCrypto (Ed25519, RFC 8032) and never sent anywhere.
// signEnvelope builds an envelope exactly as ledger.domain.envelope.sign_envelope does.

import { canonicalBytes } from './jcs.js';

export const AUTH_PREFIX = 'subsidy-ledger/auth/v1';

export class KeyFileInvalid extends Error {
  name = 'KeyFileInvalid';
}

export function b64encode(bytes) {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

export function b64decode(text) {
  const binary = atob(text);
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

function b64urlDecode(text) {
  const std = text.replace(/-/g, '+').replace(/_/g, '/');
  return b64decode(std + '='.repeat((4 - (std.length % 4)) % 4));
}

async function hex(buffer) {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** The key of a PKCS#8 PEM text: {privateKey (CryptoKey), publicKey (32 raw bytes), keyId}. */
export async function keyFromPem(pem) {
  const match = /-----BEGIN PRIVATE KEY-----([\s\S]+?)-----END PRIVATE KEY-----/.exec(pem);
  if (!match) throw new KeyFileInvalid('not a PKCS#8 PEM private key (-----BEGIN PRIVATE KEY-----)');
  let der;
  try {
    der = b64decode(match[1].replace(/\s+/g, ''));
  } catch {
    throw new KeyFileInvalid('the PEM body is not base64');
  }
  let privateKey;
  try {
    // extractable only to read its public half (the JWK's x); the private half stays in this page.
    privateKey = await crypto.subtle.importKey('pkcs8', der, { name: 'Ed25519' }, true, ['sign']);
  } catch (err) {
    throw new KeyFileInvalid(`not an Ed25519 key: ${err.message}`);
  }
  const jwk = await crypto.subtle.exportKey('jwk', privateKey);
  const publicKey = b64urlDecode(jwk.x);
  // DESIGN §6: key_id = "ed25519:" + hex(SHA-256(raw public key))[:32]
  const keyId = 'ed25519:' + (await hex(await crypto.subtle.digest('SHA-256', publicKey))).slice(0, 32);
  return { privateKey, publicKey, keyId };
}

export async function keyFromFile(file) {
  return keyFromPem(await file.text());
}

export async function sign(key, bytes) {
  return new Uint8Array(await crypto.subtle.sign({ name: 'Ed25519' }, key.privateKey, bytes));
}

/** A nonce as the ledger accepts it ([A-Za-z0-9._:-]{8,64}): "web-" and 24 random hex digits. */
export function newNonce() {
  const raw = crypto.getRandomValues(new Uint8Array(12));
  return 'web-' + Array.from(raw, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Now as an envelope's `at`: RFC 3339 in Asia/Shanghai to the second, as ledger.service.now_at. */
export function nowAt(date = new Date()) {
  const shanghai = new Date(date.getTime() + 8 * 3600 * 1000);
  return shanghai.toISOString().slice(0, 19) + '+08:00';
}

/** {type, actor, at, nonce, body, officer?} → the signed envelope (adds v, key_id, sig). */
export async function signEnvelope(unsigned, key) {
  const env = {};
  for (const [k, v] of Object.entries(unsigned)) if (k !== 'sig') env[k] = v;
  env.v = 1;
  env.key_id = key.keyId;
  env.sig = b64encode(await sign(key, canonicalBytes(env)));
  return env;
}

/** The signed sign-in message of API.md "Authentication". */
export function signInMessage(origin, actorId, challenge) {
  return new TextEncoder().encode(`${AUTH_PREFIX}\n${origin}\n${actorId}\n${challenge}`);
}

/** This page's CSRF token (the <meta name="csrf-token"> of a signed-in page). */
export function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : '';
}

/** POST JSON to this site with the page's CSRF token; the parsed reply (a problem throws). */
export async function postJSON(url, body) {
  const response = await fetch(url, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrfToken() },
    body: JSON.stringify(body),
  });
  const doc = await response.json().catch(() => ({}));
  if (!response.ok) {
    const err = new Error(doc.detail || `HTTP ${response.status}`);
    err.status = response.status;
    err.problem = doc;
    throw err;
  }
  return doc;
}

/** Sign in as actorId with key: the API's challenge, signed here, exchanged for the session cookie. */
export async function signIn(origin, actorId, key, next) {
  const { challenge } = await postJSON('/v1/auth/challenge', { actor_id: actorId });
  const signature = b64encode(await sign(key, signInMessage(origin, actorId, challenge)));
  return postJSON('/signin/session', { actor_id: actorId, challenge, signature, next });
}
