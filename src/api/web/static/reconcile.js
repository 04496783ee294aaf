// The reconciliation page's "record": the finance bureau's ReconciliationRecorded, its body built by the
// server exactly as `reconcile --record` builds it, signed here with the bureau's key file (never
// uploaded) and submitted through /reconciliation/record as POST /v1/events submits one envelope.
import { keyFromFile, newNonce, nowAt, postJSON, signEnvelope } from '/static/sign.js';

const box = document.getElementById('record');
if (box) {
  const status = document.getElementById('record-status');
  const say = (template, values) => template.replace(/\{(\w+)\}/g, (_, k) => String(values[k] ?? ''));
  document.getElementById('record-button').addEventListener('click', async () => {
    const file = document.getElementById('record-key').files[0];
    status.classList.remove('error-text');
    if (!file) { status.textContent = box.dataset.nokey; status.classList.add('error-text'); return; }
    const body = JSON.parse(box.dataset.body);
    try {
      const key = await keyFromFile(file);
      const env = await signEnvelope({ type: 'ReconciliationRecorded', actor: box.dataset.actor, at: nowAt(), nonce: newNonce(), body }, key);
      const done = await postJSON('/reconciliation/record', env);
      const text = done.status === 'duplicate' ? box.dataset.duplicate : box.dataset.recorded;
      status.textContent = say(text, { seq: done.seq, id: done.reconciliation_id });
      status.dataset.outcome = done.status;
      status.dataset.seq = String(done.seq);
    } catch (err) {
      status.textContent = say(box.dataset.refused, { detail: err.message });
      status.dataset.outcome = 'refused';
      status.classList.add('error-text');
    }
  });
}
