// The reconciliation page's "record": the finance bureau's ReconciliationRecorded, its body built by the
// server exactly as `reconcile --record` builds it, signed here with the bureau's key file (never
// uploaded) and submitted through the pages' /signed as POST /v1/events submits one envelope. The id
// is the outcome's: one recorded before is 重复 with the seq that recorded it, and nothing is signed.
import { keyFromFile, newNonce, nowAt, postJSON, signEnvelope } from '/static/sign.js';

const box = document.getElementById('record');
if (box) {
  const status = document.getElementById('record-status');
  const say = (template, values) => template.replace(/\{(\w+)\}/g, (_, k) => String(values[k] ?? ''));
  const show = (outcome, text, seq) => {
    status.textContent = text;
    status.dataset.outcome = outcome;
    if (seq !== undefined) status.dataset.seq = String(seq);
    status.classList.toggle('error-text', outcome === 'refused');
  };
  const reason = (err) => {
    const words = JSON.parse(box.dataset.reasons)[err.problem?.reason ?? err.problem?.code ?? ''];
    return words ? `${words[box.dataset.lang === 'en' ? 1 : 0]}（${err.message}）` : err.message;
  };
  document.getElementById('record-button').addEventListener('click', async () => {
    const file = document.getElementById('record-key').files[0];
    if (!file) { show('refused', box.dataset.nokey); return; }
    const id = box.dataset.id;
    try {
      const before = await fetch(`/reconciliation/recorded?id=${encodeURIComponent(id)}`, { credentials: 'same-origin' });
      if (!before.ok) throw new Error(`HTTP ${before.status}`);
      const known = await before.json();
      if (known.seq !== null) { show('duplicate', say(box.dataset.duplicate, { seq: known.seq, id }), known.seq); return; }
      const key = await keyFromFile(file);
      const body = JSON.parse(box.dataset.body);
      const env = await signEnvelope({ type: 'ReconciliationRecorded', actor: box.dataset.actor, at: nowAt(), nonce: newNonce(), body }, key);
      const done = await postJSON('/signed', env);
      show('accepted', say(box.dataset.recorded, { seq: done.seq, id }), done.seq);
    } catch (err) {
      show('refused', say(box.dataset.refused, { detail: reason(err) }));
    }
  });
}
