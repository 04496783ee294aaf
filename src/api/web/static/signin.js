// The sign-in form: the key file is read here, in the browser, and never uploaded.
import { KeyFileInvalid, keyFromFile, signIn } from './sign.js';

const form = document.getElementById('key-signin');
const status = document.getElementById('signin-status');

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const actorId = form.elements.actor_id.value.trim();
  const file = form.elements.key_file.files[0];
  if (!actorId || !file) return;
  status.textContent = form.dataset.msgWorking;
  status.classList.remove('error');
  let key;
  try {
    key = await keyFromFile(file);
  } catch (err) {
    status.textContent = err instanceof KeyFileInvalid ? form.dataset.msgBadkey : form.dataset.msgNocrypto;
    status.classList.add('error');
    return;
  }
  try {
    const done = await signIn(form.dataset.origin, actorId, key, form.dataset.next);
    window.location.assign(done.next || '/');
  } catch (err) {
    status.textContent = `${form.dataset.msgRefused} (${err.message})`;
    status.classList.add('error');
  }
});
