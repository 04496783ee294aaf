// A labourer's personal data (DESIGN §7): the read is signed here as PersonalDataAccessed with the
// user's key file, recorded in the log (/signed), and only then fetched once against that seq.
import { KeyFileInvalid, keyFromFile, newNonce, nowAt, postJSON, signEnvelope } from './sign.js';

const form = document.getElementById('pii-form');
const status = document.getElementById('pii-status');
const data = document.getElementById('pii-data');

function say(text, error) {
  status.textContent = text;
  status.classList.toggle('error', Boolean(error));
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const file = form.elements.key_file.files[0];
  const purpose = form.elements.purpose.value.trim();
  if (!file || !purpose) return;
  say(form.dataset.msgWorking, false);
  let key;
  try {
    key = await keyFromFile(file);
  } catch (err) {
    say(err instanceof KeyFileInvalid ? form.dataset.msgBadkey : String(err.message), true);
    return;
  }
  const laborer = form.dataset.laborer;
  const body = { laborer_id: laborer, purpose };
  const env = await signEnvelope({ type: 'PersonalDataAccessed', actor: form.dataset.actor, at: nowAt(), nonce: newNonce(), body }, key);
  try {
    const logged = await postJSON('/signed', env);
    const response = await fetch(`/trace/laborer/${encodeURIComponent(laborer)}/pii?access_seq=${logged.seq}`,
      { credentials: 'same-origin', cache: 'no-store' });
    const doc = await response.json();
    if (!response.ok) throw Object.assign(new Error(doc.detail || `HTTP ${response.status}`), { problem: doc });
    for (const dd of data.querySelectorAll('[data-field]')) dd.textContent = doc[dd.dataset.field] ?? '';
    data.hidden = false;
    say(form.dataset.msgLogged + logged.seq, false);
  } catch (err) {
    const [open, close] = document.documentElement.lang.startsWith('zh') ? ['（', '）'] : [' (', ')'];
    say(`${form.dataset.msgRefused}${open}${err.message}${close}`, true);
  }
});
