// The disposition form (DESIGN §13): an AnomalyDisposed envelope signed here with the key file the
// user picks (read locally, never uploaded), posted with the page's CSRF token to /signed, which
// submits it as POST /v1/events does. A refusal is shown in the page's language.
import { KeyFileInvalid, keyFromFile, newNonce, nowAt, postJSON, signEnvelope } from './sign.js';

const form = document.getElementById('dispose-form');
const status = document.getElementById('dispose-status');

function say(text, error) {
  status.textContent = text;
  status.classList.toggle('error', Boolean(error));
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const file = form.elements.key_file.files[0];
  const note = form.elements.note.value.trim();
  if (!file || !note) return;
  say(form.dataset.msgWorking, false);
  let key;
  try {
    key = await keyFromFile(file);
  } catch (err) {
    say(err instanceof KeyFileInvalid ? form.dataset.msgBadkey : String(err.message), true);
    return;
  }
  const body = { anomaly_id: form.dataset.anomaly, disposition: form.elements.disposition.value, note };
  const env = await signEnvelope({ type: 'AnomalyDisposed', actor: form.dataset.actor, at: nowAt(), nonce: newNonce(), body }, key);
  try {
    const done = await postJSON('/signed', env);
    say(form.dataset.msgDone + done.seq, false);
    window.setTimeout(() => window.location.reload(), 600);
  } catch (err) {
    const refused = JSON.parse(form.dataset.refused);
    const reason = (err.problem && err.problem.reason) || '';
    const words = refused[reason];
    const zh = form.dataset.lang === 'zh';
    const text = words ? words[zh ? 0 : 1] : reason;
    const [colon, open, close] = zh ? ['：', '（', '）'] : [': ', ' (', ')'];
    say(`${form.dataset.msgRefused}${text ? colon + text : ''}${open}${err.message}${close}`, true);
  }
});
