// RFC 8785 (JSON Canonicalization Scheme) for the ledger's JSON (DESIGN §6): objects, arrays,
// strings, integers within ±(2^53−1), true, false, null — no floats, ASCII keys, no lone surrogates.
// The same bytes as ledger.encoding.canonical.canonical (tests/e2e/test_web_signing.py proves it).

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

export class NotCanonical extends Error {
  name = 'NotCanonical';
}

function text(value) {
  if (!value.isWellFormed()) throw new NotCanonical('string contains a lone surrogate');
  return JSON.stringify(value); // RFC 8785 §3.2.2.2: ECMAScript's string serialisation
}

export function canonicalize(value) {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'string':
      return text(value);
    case 'number':
      if (!Number.isInteger(value) || Math.abs(value) > MAX_SAFE) {
        throw new NotCanonical(`${value} is not an integer within ±(2^53−1)`);
      }
      return Object.is(value, -0) ? '0' : String(value);
    case 'object':
      if (Array.isArray(value)) return '[' + value.map(canonicalize).join(',') + ']';
      // §3.2.3: members sorted by their names' UTF-16 code units (ASCII here: byte order).
      return '{' + Object.keys(value).sort().map((key) => {
        if (!/^[\x00-\x7f]*$/.test(key)) throw new NotCanonical(`key ${key} is not ASCII`);
        return text(key) + ':' + canonicalize(value[key]);
      }).join(',') + '}';
    default:
      throw new NotCanonical(`${typeof value} is not a JSON value`);
  }
}

export function canonicalBytes(value) {
  return new TextEncoder().encode(canonicalize(value));
}
