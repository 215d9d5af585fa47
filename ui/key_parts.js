// keyplane console: what the key pages share (name, last4, expiry and scope cells, the create
// form, the reveal, revoke and new-secret panels).

import { errorMessage } from './api.js';
import { h, field, errorBox, setBusy, secretPanel, openDialog } from './dom.js';
import { actionButton } from './list.js';

export function pageHeader(title, ...description) {
  return h('header', { class: 'page-header' },
    h('h1', { class: 'page-title', testid: 'page-title', tabindex: '-1' }, title),
    description.map((text) => h('p', { class: 'page-description' }, text)));
}

export function last4Cell(item) {
  const last4 = item.attributes && item.attributes.last4;
  const cell = h('span', { class: 'mono', testid: 'row-last4', title: last4 ? `Ends with ${last4}` : undefined }, last4 ? `…${last4}` : '—');
  return leaked(item) ? h('span', { class: 'stack' }, cell, leakedBadge()) : cell;
}

/** Whether the key was reported through POST /api/v2/credentials/leaked (`leak_information`). */
export function leaked(item) {
  const leak = item.relationships && item.relationships.leak_information;
  return Boolean(leak && leak.data);
}

export function leakedBadge() {
  return h('span', { class: 'badge badge-warning', testid: 'key-leaked', title: 'This key was reported as found in public (a repository, a paste, a log): anyone may hold it. Rotate it and revoke this one.' },
    'Leaked: rotate it');
}

export const DAY_MS = 86400000;

/** "expires in N days" / "expired" / "Never", with the exact instant as the tooltip. */
export function expiresCell(item) {
  const at = item.attributes && item.attributes.expires_at;
  if (!at) return h('span', { class: 'muted', testid: 'row-expires', dataset: { expires: 'never' } }, 'Never');
  const left = Date.parse(at) - Date.now();
  const title = new Date(at).toLocaleString();
  if (!(left > 0)) {
    return h('span', { class: 'badge badge-warning', testid: 'row-expires', dataset: { expires: 'expired' }, title }, 'expired');
  }
  const days = Math.ceil(left / DAY_MS);
  return h('span', { testid: 'row-expires', dataset: { expires: String(days) }, title }, `expires in ${days} ${days === 1 ? 'day' : 'days'}`);
}

export const EXPIRES_COLUMN = { id: 'expires', label: 'Expires', cell: expiresCell };

/** The create forms' optional expiry: a date, taken by the API as midnight UTC. */
export function expiryField(prefix) {
  const input = h('input', { type: 'date', name: 'expires_at', testid: `${prefix}-create-expires` });
  return field({ label: 'Expires on (optional)', input, hint: 'The key stops working at midnight UTC of that day. Leave empty for the organization’s default.' });
}

/** `attributes` with `expires_at` when the form's date is set. */
export function withExpiry(attributes, expiry) {
  const value = expiry.input.value;
  return value ? { ...attributes, expires_at: value } : attributes;
}

export function scopesCell(item, row, allText = 'All of the owner’s permissions') {
  const scopes = item.attributes && item.attributes.scopes;
  if (!Array.isArray(scopes)) {
    return h('span', { class: 'muted', testid: 'row-scopes', dataset: { scopes: 'all' } }, allText);
  }
  return h('ul', { class: 'chips', testid: 'row-scopes', dataset: { scopes: scopes.join(',') } },
    scopes.map((scope) => h('li', { class: 'chip mono' }, scope)));
}

/** "a, b c" → ["a", "b", "c"]; empty → null (all of the owner's permissions). */
export function parseScopes(text) {
  const scopes = text.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean);
  return scopes.length ? [...new Set(scopes)] : null;
}

/**
 * A create form: a name (and optional extra fields) and a submit button; the API's error
 * appears under the button. `create(values)` resolves when done.
 */
export function createForm({ prefix, label, buttonLabel, busyLabel, placeholder, extraFields = [], onSubmit }) {
  const nameInput = h('input', { type: 'text', name: 'name', testid: `${prefix}-create-name`, maxlength: '255', autocomplete: 'off', required: true, placeholder });
  const nameField = field({ label, input: nameInput });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', testid: `${prefix}-create-submit` }, buttonLabel);
  const error = errorBox(`${prefix}-create-error`);
  const form = h('form', { class: 'create-form', testid: `${prefix}-create-form`, novalidate: true },
    h('div', { class: 'create-fields' }, nameField.wrap, extraFields.map((f) => f.wrap), h('div', { class: 'create-submit' }, submit)),
    error);
  let pending = false;
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (pending) return;
    const name = nameInput.value.trim();
    if (!name) {
      error.show('Enter a name.');
      nameInput.focus();
      return;
    }
    pending = true;
    error.clear();
    setBusy(submit, true, busyLabel);
    try {
      await onSubmit({ name, form, nameInput });
      nameInput.value = '';
      for (const f of extraFields) f.input.value = '';
    } catch (err) {
      error.show(errorMessage(err));
      nameInput.focus();
    } finally {
      pending = false;
      setBusy(submit, false);
    }
  });
  return { form, nameInput, error };
}

export function noPermission(testid, text) {
  return h('p', { class: 'notice', testid }, text);
}

/** The revoke confirmation; on success the list reloads and says so. */
export function revokeButton(row, { noun, buttonLabel = 'Revoke', confirmLabel, message, remove }) {
  return actionButton('row-revoke', buttonLabel, async () => {
    row.clearError();
    const done = await openDialog({
      testid: 'confirm-dialog',
      title: `${confirmLabel || `Revoke ${noun}`}?`,
      message,
      confirmLabel: confirmLabel || `Revoke ${noun}`,
      busyLabel: 'Revoking…',
      danger: true,
      action: remove,
      errorText: errorMessage,
    });
    if (done) {
      row.list.announce(`${capitalize(noun)} “${row.name}” was revoked.`);
      row.list.focusHeading();
      row.list.reload();
    }
  }, { danger: true, ariaLabel: `${buttonLabel} ${noun} ${row.name}` });
}

/** Reveal: confirm, then fetch the key and show it under the row (or say why it can't be). */
export function revealButton(row, { noun, fetchKey, action }) {
  return actionButton('row-reveal', 'Reveal', async () => {
    row.clearError();
    const doc = await openDialog({
      testid: 'confirm-dialog',
      title: `Reveal ${noun}?`,
      message: [
        `The full ${noun} “${row.name}” will be shown on this screen.`,
        'Anyone who can see your screen can use it. Hide it again when you have copied it.',
      ],
      confirmLabel: `Reveal ${noun}`,
      busyLabel: 'Revealing…',
      action: () => fetchKey(),
      errorText: errorMessage,
    });
    if (!doc) return;
    const key = doc && doc.data && doc.data.attributes && doc.data.attributes.key;
    if (key) {
      const panel = secretPanel({
        testid: 'revealed-secret',
        title: `${capitalize(noun)} “${row.name}”`,
        warning: `Keep this ${noun} secret.`,
        value: key,
        label: capitalize(noun),
        dismissLabel: 'Hide',
        tone: 'neutral',
        onDismiss: () => {
          row.hideDetail();
          row.focusAction('row-reveal');
        },
      });
      row.showDetail(panel);
      panel.querySelector('[data-testid="copy-button"]').focus();
    } else {
      const hide = h('button', { type: 'button', class: 'btn btn-small', testid: 'secret-dismiss', onclick: () => { row.hideDetail(); row.focusAction('row-reveal'); } }, 'OK');
      const note = h('div', { class: 'notice notice-info', testid: 'reveal-unavailable', role: 'status' },
        h('p', {}, `This organization is in One-Time Read mode: keys are shown in full only once, when they are created. If nobody kept this one, create a new ${noun} and ${action}.`),
        hide);
      row.showDetail(note);
      hide.focus();
    }
  }, { ariaLabel: `Reveal ${noun} ${row.name}` });
}

export function capitalize(text) {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

export function sortParam(sort) {
  return sort || undefined;
}

/** PATCH answers carry no included users; keep what the row already knew. */
export function keepRelationships(before, after) {
  if (!after) return before;
  return { ...before, ...after, attributes: { ...before.attributes, ...after.attributes, key: undefined }, relationships: { ...before.relationships, ...after.relationships } };
}

export function showNewSecret(slot, { testid, title, warning, value, label, focusAfter, tone = 'warning' }) {
  const panel = secretPanel({
    testid,
    title,
    warning,
    value,
    label,
    dismissLabel: 'Done',
    tone,
    onDismiss: () => {
      slot.replaceChildren();
      if (focusAfter) focusAfter();
    },
  });
  slot.replaceChildren(panel);
  panel.querySelector('[data-testid="copy-button"]').focus();
}
