// The disposition form: an AnomalyDisposed envelope signed in the browser (signed-form.js); a
// refusal is explained in the page's language by its reason, then the API's detail.
import { punct, recordSigned, say } from './signed-form.js';

const form = document.getElementById('dispose-form');
const status = document.getElementById('dispose-status');

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const note = form.elements.note.value.trim();
  if (!form.elements.key_file.files[0] || !note) return;
  const body = { anomaly_id: form.dataset.anomaly, disposition: form.elements.disposition.value, note };
  try {
    const done = await recordSigned(form, status, 'AnomalyDisposed', body);
    if (!done) return;
    say(status, form.dataset.msgDone + done.seq, false);
    window.setTimeout(() => window.location.reload(), 600);
  } catch (err) {
    const words = JSON.parse(form.dataset.refused)[(err.problem && err.problem.reason) || ''];
    const { colon, open, close } = punct();
    const text = words ? words[form.dataset.lang === 'zh' ? 0 : 1] : (err.problem && err.problem.reason) || '';
    say(status, `${form.dataset.msgRefused}${text ? colon + text : ''}${open}${err.message}${close}`, true);
  }
});
