// A form that records a signed event (DESIGN §13): the key file the user picks is read here, never
// uploaded; the envelope is signed here and posted with the page's CSRF token to /signed, which
// submits it as POST /v1/events does. Used by dispose.js and pii.js.
import { KeyFileInvalid, keyFromFile, newNonce, nowAt, postJSON, signEnvelope } from './sign.js';

const zh = () => document.documentElement.lang.startsWith('zh');

/** Brackets and colon of the page's language. */
export const punct = () => (zh() ? { colon: '：', open: '（', close: '）' } : { colon: ': ', open: ' (', close: ')' });

/** Show text in the form's status line (role=status), as an error or not. */
export function say(status, text, error) {
  status.textContent = text;
  status.classList.toggle('error', Boolean(error));
}

/** Sign {type, body} as the form's data-actor with the chosen key file and record it: the reply
 * ({seq, …}); a key file that cannot be read is said and gives null; a refusal throws (err.problem). */
export async function recordSigned(form, status, type, body) {
  say(status, form.dataset.msgWorking, false);
  let key;
  try {
    key = await keyFromFile(form.elements.key_file.files[0]);
  } catch (err) {
    say(status, err instanceof KeyFileInvalid ? form.dataset.msgBadkey : String(err.message), true);
    return null;
  }
  const env = await signEnvelope({ type, actor: form.dataset.actor, at: nowAt(), nonce: newNonce(), body }, key);
  return postJSON('/signed', env);
}
