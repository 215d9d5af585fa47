// keyplane web console: accepting an invitation (#/invite/<secret>). keyplane sends no email;
// whoever invites passes this link on. The page looks the link up, lets the invited user set
// a password, and signs them in. The secret is taken out of the address bar at once, so it
// stays in neither the history nor a bookmark.
//
// data-testid: invite-page, invite-loading, invite-unusable, invite-form, invite-email,
// invite-org, invite-password, invite-confirm, invite-error, invite-submit.

import { request, errorMessage } from './api.js';
import { h, field, errorBox, setBusy } from './dom.js';

const MIN_PASSWORD = 12;

export function renderInvite(root, secret, { onSignedIn }) {
  window.history.replaceState(null, '', '#/invite');
  document.title = 'Accept invitation · keyplane';
  const body = h('div', { class: 'signin-body' }, h('p', { testid: 'invite-loading' }, 'Checking the invitation…'));
  root.replaceChildren(
    h('main', { class: 'signin-page', testid: 'invite-page', id: 'main' },
      h('div', { class: 'signin-card' },
        h('p', { class: 'logo logo-large', testid: 'app-logo' }, 'keyplane'),
        h('h1', { class: 'signin-title' }, 'Accept your invitation'),
        body)));
  if (!secret) {
    body.replaceChildren(unusable('Open the invitation link you were given again.'));
    return;
  }
  request('POST', '/api/console/invitation/lookup', { body: { secret }, action: 'check the invitation' })
    .then((found) => body.replaceChildren(form(secret, found, onSignedIn)))
    .catch((err) => body.replaceChildren(unusable(errorMessage(err))));
}

function unusable(message) {
  return h('p', { class: 'notice notice-error', testid: 'invite-unusable', role: 'alert' },
    `${message} Ask the person who invited you for a new link.`);
}

function form(secret, found, onSignedIn) {
  const password = h('input', { type: 'password', name: 'password', testid: 'invite-password', autocomplete: 'new-password', required: true, minlength: MIN_PASSWORD });
  const confirm = h('input', { type: 'password', name: 'confirm', testid: 'invite-confirm', autocomplete: 'new-password', required: true });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-block', testid: 'invite-submit' }, 'Set password and sign in');
  const error = errorBox('invite-error');
  const el = h('form', { class: 'signin-form', testid: 'invite-form', novalidate: true },
    h('p', {}, 'Set a password for ', h('strong', { testid: 'invite-email' }, found.email),
      ' in ', h('strong', { testid: 'invite-org' }, found.org), '.'),
    field({ label: `Password (at least ${MIN_PASSWORD} characters)`, input: password }).wrap,
    field({ label: 'Repeat the password', input: confirm }).wrap,
    error,
    submit);
  let pending = false;
  el.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (pending) return;
    if (password.value.length < MIN_PASSWORD) {
      error.show(`The password must be at least ${MIN_PASSWORD} characters.`);
      password.focus();
      return;
    }
    if (password.value !== confirm.value) {
      error.show('The two passwords differ.');
      confirm.focus();
      return;
    }
    pending = true;
    error.clear();
    setBusy(submit, true, 'Signing in…');
    try {
      const session = await request('POST', '/api/console/invitation', {
        body: { secret, password: password.value },
        action: 'accept the invitation',
      });
      onSignedIn(session);
    } catch (err) {
      pending = false;
      setBusy(submit, false);
      error.show(errorMessage(err));
    }
  });
  queueMicrotask(() => password.focus());
  return el;
}
