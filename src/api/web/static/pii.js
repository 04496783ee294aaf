// A labourer's personal data (DESIGN §7): the read is signed here as PersonalDataAccessed and
// recorded in the log (signed-form.js), and only then fetched, once, against that seq.
import { punct, recordSigned, say } from './signed-form.js';

const form = document.getElementById('pii-form');
const status = document.getElementById('pii-status');
const data = document.getElementById('pii-data');

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const purpose = form.elements.purpose.value.trim();
  if (!form.elements.key_file.files[0] || !purpose) return;
  const laborer = form.dataset.laborer;
  try {
    const logged = await recordSigned(form, status, 'PersonalDataAccessed', { laborer_id: laborer, purpose });
    if (!logged) return;
    const response = await fetch(`/trace/laborer/${encodeURIComponent(laborer)}/pii?access_seq=${logged.seq}`, {
      credentials: 'same-origin',
      cache: 'no-store',
    });
    const doc = await response.json();
    if (!response.ok) throw Object.assign(new Error(doc.detail || `HTTP ${response.status}`), { problem: doc });
    for (const dd of data.querySelectorAll('[data-field]')) dd.textContent = doc[dd.dataset.field] ?? '';
    data.hidden = false;
    say(status, form.dataset.msgLogged + logged.seq, false);
  } catch (err) {
    const { open, close } = punct();
    say(status, `${form.dataset.msgRefused}${open}${err.message}${close}`, true);
  }
});
