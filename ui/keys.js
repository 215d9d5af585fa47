// keyplane console: the API Keys, Application Keys and Client Tokens pages.

import { request, errorMessage, includedIndex, relatedUser, pageCounts } from './api.js';
import { h, field, errorBox, setBusy, timeEl, userLabel, copyField, secretPanel, openDialog } from './dom.js';
import { ListView, actionButton, nameCell, renameButton } from './list.js';

// ---- shared pieces ----

export function pageHeader(title, ...description) {
  return h('header', { class: 'page-header' },
    h('h1', { class: 'page-title', testid: 'page-title', tabindex: '-1' }, title),
    description.map((text) => h('p', { class: 'page-description' }, text)));
}

function last4Cell(item) {
  const last4 = item.attributes && item.attributes.last4;
  const cell = h('span', { class: 'mono', testid: 'row-last4', title: last4 ? `Ends with ${last4}` : undefined }, last4 ? `…${last4}` : '—');
  return leaked(item) ? h('span', { class: 'stack' }, cell, leakedBadge()) : cell;
}

/** Whether the key was reported through POST /api/v2/credentials/leaked (`leak_information`). */
function leaked(item) {
  const leak = item.relationships && item.relationships.leak_information;
  return Boolean(leak && leak.data);
}

function leakedBadge() {
  return h('span', { class: 'badge badge-warning', testid: 'key-leaked', title: 'This key was reported as found in public (a repository, a paste, a log): anyone may hold it. Rotate it and revoke this one.' },
    'Leaked: rotate it');
}

const DAY_MS = 86400000;

/** "expires in N days" / "expired" / "Never", with the exact instant as the tooltip. */
function expiresCell(item) {
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

const EXPIRES_COLUMN = { id: 'expires', label: 'Expires', cell: expiresCell };

/** The create forms' optional expiry: a date, taken by the API as midnight UTC. */
function expiryField(prefix) {
  const input = h('input', { type: 'date', name: 'expires_at', testid: `${prefix}-create-expires` });
  return field({ label: 'Expires on (optional)', input, hint: 'The key stops working at midnight UTC of that day. Leave empty for the organization’s default.' });
}

/** `attributes` with `expires_at` when the form's date is set. */
function withExpiry(attributes, expiry) {
  const value = expiry.input.value;
  return value ? { ...attributes, expires_at: value } : attributes;
}

function scopesCell(item, row, allText = 'All of the owner’s permissions') {
  const scopes = item.attributes && item.attributes.scopes;
  if (!Array.isArray(scopes)) {
    return h('span', { class: 'muted', testid: 'row-scopes', dataset: { scopes: 'all' } }, allText);
  }
  return h('ul', { class: 'chips', testid: 'row-scopes', dataset: { scopes: scopes.join(',') } },
    scopes.map((scope) => h('li', { class: 'chip mono' }, scope)));
}

/** "a, b c" → ["a", "b", "c"]; empty → null (all of the owner's permissions). */
function parseScopes(text) {
  const scopes = text.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean);
  return scopes.length ? [...new Set(scopes)] : null;
}

/**
 * A create form: a name (and optional extra fields) and a submit button; the API's error
 * appears under the button. `create(values)` resolves when done.
 */
function createForm({ prefix, label, buttonLabel, busyLabel, placeholder, extraFields = [], onSubmit }) {
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

function noPermission(testid, text) {
  return h('p', { class: 'notice', testid }, text);
}

/** The revoke confirmation; on success the list reloads and says so. */
function revokeButton(row, { noun, buttonLabel = 'Revoke', confirmLabel, message, remove }) {
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
function revealButton(row, { noun, fetchKey, action }) {
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

function capitalize(text) {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function sortParam(sort) {
  return sort || undefined;
}

// ---- API Keys ----

/**
 * When each API key was last seen coming from a browser, by id: the intake gate refuses such
 * a key and records `api_key.exposed` in the audit trail (readable by admins).
 */
async function exposedKeys(signal) {
  const doc = await request('GET', '/api/v2/audit/events', {
    query: { 'filter[action]': 'api_key.exposed', 'page[size]': 100 },
    action: 'view the audit trail',
    signal,
  });
  const seen = new Map();
  for (const event of (doc && doc.data) || []) {
    const { target_id: id, timestamp } = event.attributes || {};
    if (id && !seen.has(id)) seen.set(id, timestamp);
  }
  return seen;
}

function lastUsedCell(item, exposed) {
  const used = timeEl(item.attributes.date_last_used || (item.attributes.last_used_date && item.attributes.last_used_date.timestamp), 'Never');
  const at = exposed && exposed.get(item.id);
  if (!at) return used;
  return h('span', { class: 'stack' }, used,
    h('span', { class: 'badge badge-warning', testid: 'api-key-exposed', title: 'The intake gate refused this key from a browser: anyone who loads that page can read it.' },
      'Used from a browser ', timeEl(at), ': rotate it'));
}

export function apiKeysPage(app) {
  const canWrite = app.can('api_keys_write');
  const canDelete = app.can('api_keys_delete');
  const canReadAudit = app.can('audit_logs_read');
  const counter = h('p', { class: 'counter', testid: 'api-keys-count', 'aria-live': 'polite' });
  const limitNote = h('p', { class: 'notice notice-warning', testid: 'api-keys-limit', hidden: true });
  const secretSlot = h('div', { class: 'secret-slot' });
  const maxFromSession = app.session && app.session.limits && app.session.limits.max_api_keys_per_org;

  async function unfilteredTotal(doc, state, signal) {
    const counts = pageCounts(doc);
    if (counts.total !== undefined) return counts.total;
    if (!state.filter) return counts.filtered;
    const all = await request('GET', '/api/v2/api_keys', { query: { 'page[size]': 1, 'page[number]': 0 }, action: 'view API keys', signal });
    return pageCounts(all).filtered;
  }

  const list = new ListView({
    prefix: 'api-keys',
    title: 'Keys of this organization',
    noun: ['API key', 'API keys'],
    searchLabel: 'Search API keys by name',
    defaultSort: 'name',
    pageSizes: [10, 25, 50, 100],
    columns: [
      { id: 'name', label: 'Name', sort: 'name', primary: true, cell: nameCell },
      { id: 'last4', label: 'Key', sort: 'last4', cell: last4Cell },
      { id: 'created-by', label: 'Created by', cell: (item, row) => userLabel(relatedUser(item, 'created_by', row.context.users)) },
      { id: 'created', label: 'Created', sort: 'created_at', sortKind: 'date', cell: (item) => timeEl(item.attributes.created_at) },
      { id: 'modified', label: 'Modified', sort: 'modified_at', sortKind: 'date', cell: (item) => timeEl(item.attributes.modified_at) },
      { id: 'last-used', label: 'Last used', cell: (item, row) => lastUsedCell(item, row.context.exposed) },
      EXPIRES_COLUMN,
    ],
    actions: (item, row) => [
      canWrite ? renameButton(row, {
        noun: 'API key',
        save: async (name) => {
          const doc = await request('PATCH', `/api/v2/api_keys/${encodeURIComponent(item.id)}`, {
            body: { data: { type: 'api_keys', id: item.id, attributes: { name } } },
            action: 'rename API keys',
          });
          return keepRelationships(row.item, doc && doc.data);
        },
      }) : null,
      revealButton(row, {
        noun: 'API key',
        action: 'update your agents and clients',
        fetchKey: () => request('GET', `/api/v2/api_keys/${encodeURIComponent(item.id)}`, { action: 'view API keys' }),
      }),
      canDelete ? revokeButton(row, {
        noun: 'API key',
        message: [
          h('p', {}, 'Revoke ', h('strong', {}, `“${row.name}”`), ` (…${item.attributes.last4})?`),
          'Agents and clients that use this key stop sending data immediately. This cannot be undone.',
          'The organization’s last API key cannot be revoked: create another one first.',
        ],
        remove: () => request('DELETE', `/api/v2/api_keys/${encodeURIComponent(item.id)}`, { action: 'revoke API keys' }),
      }) : null,
    ],
    load: async ({ page, size, sort, filter, signal }) => {
      const doc = await request('GET', '/api/v2/api_keys', {
        query: { 'page[size]': size, 'page[number]': page, sort: sortParam(sort), filter, include: 'created_by' },
        action: 'view API keys',
        signal,
      });
      const total = await unfilteredTotal(doc, { filter }, signal);
      const max = maxFromSession || (doc && doc.meta && doc.meta.max_allowed);
      const exposed = canReadAudit ? await exposedKeys(signal) : new Map();
      return { items: doc.data || [], ...pageCounts(doc), total, max, context: { users: includedIndex(doc), exposed } };
    },
    onLoad: (result) => {
      const { total: count, max } = result;
      counter.textContent = max ? `${count} of ${max} API keys` : `${count} API ${count === 1 ? 'key' : 'keys'}`;
      counter.dataset.count = String(count);
      if (max) counter.dataset.max = String(max);
      const full = max && count >= max;
      limitNote.hidden = !full;
      limitNote.textContent = full ? `The organization has reached its limit of ${max} API keys. Revoke a key you no longer use before creating another.` : '';
    },
  });

  let create = null;
  if (canWrite) {
    const expiry = expiryField('api-keys');
    create = createForm({
      prefix: 'api-keys',
      extraFields: [expiry],
      label: 'Name of the new API key',
      buttonLabel: 'Create API key',
      busyLabel: 'Creating…',
      placeholder: 'e.g. production agents',
      onSubmit: async ({ name }) => {
        const doc = await request('POST', '/api/v2/api_keys', {
          body: { data: { type: 'api_keys', attributes: withExpiry({ name }, expiry) } },
          action: 'create API keys',
        });
        const key = doc && doc.data && doc.data.attributes && doc.data.attributes.key;
        showNewSecret(secretSlot, {
          testid: 'api-keys-new-secret',
          title: `API key “${name}” created`,
          warning: 'Copy this key now and store it safely: this is the only time it is shown in full here.',
          value: key || '',
          label: 'API key',
          focusAfter: () => create.nameInput.focus(),
        });
        list.announce(`API key “${name}” was created.`);
        list.reload();
      },
    });
  }

  const el = h('div', { class: 'page', testid: 'api-keys-page' },
    pageHeader('API Keys', 'API keys let the Datadog Agent and your applications send data to this organization. They are secret: keep them out of browsers and public repositories.'),
    h('div', { class: 'panel' },
      h('div', { class: 'panel-head' }, h('h2', {}, 'New API key'), counter),
      limitNote,
      create ? create.form : noPermission('api-keys-create-forbidden', 'You don’t have permission to create API keys.'),
      secretSlot),
    list.el);
  list.reload();
  return { el, title: 'API Keys', destroy: () => list.destroy() };
}

/** PATCH answers carry no included users; keep what the row already knew. */
function keepRelationships(before, after) {
  if (!after) return before;
  return { ...before, ...after, attributes: { ...before.attributes, ...after.attributes, key: undefined }, relationships: { ...before.relationships, ...after.relationships } };
}

function showNewSecret(slot, { testid, title, warning, value, label, focusAfter, tone = 'warning' }) {
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

// ---- Application Keys ----

export function applicationKeysPage(app, tab) {
  const canMine = app.can('user_app_keys');
  const canOrgRead = app.can('org_app_keys_read');
  const canOrgWrite = app.can('org_app_keys_write');
  if (!tab) tab = canMine ? 'mine' : 'all';
  const tabs = canOrgRead
    ? h('nav', { class: 'tabs', 'aria-label': 'Application key lists', testid: 'app-keys-tabs' },
      h('a', { href: '#/application-keys', class: 'tab', testid: 'app-keys-tab-mine', 'aria-current': tab === 'mine' ? 'page' : undefined }, 'My application keys'),
      h('a', { href: '#/application-keys/all', class: 'tab', testid: 'app-keys-tab-all', 'aria-current': tab === 'all' ? 'page' : undefined }, 'All application keys'))
    : null;
  const header = pageHeader('Application Keys', 'Application keys, together with an API key, give scripts and tools access to this organization’s API as the user who owns them. A key with scopes can use only those permissions.');
  let content;
  let destroy = () => {};
  if (tab === 'all') {
    if (!canOrgRead) {
      content = noPermission('page-forbidden', 'You don’t have permission to view the application keys of the organization.');
    } else {
      const list = orgAppKeysList(canOrgWrite);
      content = list.el;
      destroy = () => list.destroy();
      list.reload();
    }
  } else if (!canMine) {
    content = noPermission('page-forbidden', 'You don’t have permission to manage your own application keys.');
  } else {
    const mine = myAppKeys(app);
    content = mine.el;
    destroy = mine.destroy;
  }
  const el = h('div', { class: 'page', testid: 'app-keys-page' }, header, tabs, content);
  return { el, title: tab === 'all' ? 'All Application Keys' : 'Application Keys', destroy };
}

function scopesDialog(row, { noun, save }) {
  const current = row.item.attributes.scopes;
  const input = h('input', { type: 'text', testid: 'scopes-input', autocomplete: 'off', spellcheck: 'false', value: Array.isArray(current) ? current.join(', ') : '', placeholder: 'e.g. api_keys_read, dashboards_read' });
  const f = field({ label: 'Scopes', input, hint: 'Permission names separated by commas. Leave empty to give the key all of its owner’s permissions.' });
  return openDialog({
    testid: 'scopes-dialog',
    title: `Scopes of “${row.name}”`,
    message: `The ${noun} can use only the permissions listed here, and only those its owner has.`,
    body: [f.wrap],
    confirmLabel: 'Save scopes',
    busyLabel: 'Saving…',
    action: () => save(parseScopes(input.value)),
    errorText: errorMessage,
  });
}

function editScopesButton(row, { noun, save }) {
  return actionButton('row-edit-scopes', 'Scopes', async () => {
    row.clearError();
    const updated = await scopesDialog(row, { noun, save });
    if (updated && updated !== true) {
      row.update(updated);
      row.list.announce(`Scopes of “${row.name}” were saved.`);
    }
  }, { ariaLabel: `Edit scopes of ${noun} ${row.name}` });
}

function myAppKeys(app) {
  const base = '/api/v2/current_user/application_keys';
  const secretSlot = h('div', { class: 'secret-slot' });
  const counter = h('p', { class: 'counter', testid: 'my-app-keys-count', 'aria-live': 'polite' });
  const list = new ListView({
    prefix: 'my-app-keys',
    title: 'My application keys',
    noun: ['application key', 'application keys'],
    searchLabel: 'Search my application keys by name',
    defaultSort: 'name',
    pageSizes: [10, 25, 50, 100],
    columns: [
      { id: 'name', label: 'Name', sort: 'name', primary: true, cell: nameCell },
      { id: 'last4', label: 'Key', sort: 'last4', cell: last4Cell },
      { id: 'scopes', label: 'Scopes', cell: (item, row) => scopesCell(item, row, 'All of your permissions') },
      { id: 'created', label: 'Created', sort: 'created_at', sortKind: 'date', cell: (item) => timeEl(item.attributes.created_at) },
      { id: 'last-used', label: 'Last used', cell: (item) => timeEl(item.attributes.last_used_at, 'Never') },
      EXPIRES_COLUMN,
    ],
    actions: (item, row) => {
      const path = `${base}/${encodeURIComponent(item.id)}`;
      const patch = async (attributes, action) => {
        const doc = await request('PATCH', path, { body: { data: { type: 'application_keys', id: item.id, attributes } }, action });
        return keepRelationships(row.item, doc && doc.data);
      };
      return [
        renameButton(row, { noun: 'application key', save: (name) => patch({ name }, 'rename your application keys') }),
        editScopesButton(row, { noun: 'application key', save: (scopes) => patch({ scopes }, 'change the scopes of your application keys') }),
        revealButton(row, { noun: 'application key', action: 'update the scripts that use it', fetchKey: () => request('GET', path, { action: 'view your application keys' }) }),
        revokeButton(row, {
          noun: 'application key',
          message: [
            h('p', {}, 'Revoke ', h('strong', {}, `“${row.name}”`), ` (…${item.attributes.last4})?`),
            'Scripts and tools that use this key lose access immediately. This cannot be undone.',
          ],
          remove: () => request('DELETE', path, { action: 'revoke your application keys' }),
        }),
      ];
    },
    load: async ({ page, size, sort, filter, signal }) => {
      const doc = await request('GET', base, {
        query: { 'page[size]': size, 'page[number]': page, sort: sortParam(sort), filter },
        action: 'view your application keys',
        signal,
      });
      return { items: doc.data || [], ...pageCounts(doc), context: { users: includedIndex(doc) } };
    },
    onLoad: (result, state) => {
      const n = result.filtered;
      counter.textContent = state.filter
        ? `${n} matching application ${n === 1 ? 'key' : 'keys'}`
        : `${n} application ${n === 1 ? 'key' : 'keys'}`;
      counter.dataset.count = String(n);
    },
  });
  const scopesInput = h('input', { type: 'text', name: 'scopes', testid: 'my-app-keys-create-scopes', autocomplete: 'off', spellcheck: 'false', placeholder: 'e.g. api_keys_read, dashboards_read' });
  const scopesField = field({ label: 'Scopes (optional)', input: scopesInput, hint: 'Comma-separated permission names. Leave empty for all of your permissions.' });
  const expiry = expiryField('my-app-keys');
  const create = createForm({
    prefix: 'my-app-keys',
    label: 'Name of the new application key',
    buttonLabel: 'Create application key',
    busyLabel: 'Creating…',
    placeholder: 'e.g. terraform',
    extraFields: [scopesField, expiry],
    onSubmit: async ({ name }) => {
      const doc = await request('POST', base, {
        body: { data: { type: 'application_keys', attributes: withExpiry({ name, scopes: parseScopes(scopesInput.value) }, expiry) } },
        action: 'create application keys',
      });
      const key = doc && doc.data && doc.data.attributes && doc.data.attributes.key;
      showNewSecret(secretSlot, {
        testid: 'my-app-keys-new-secret',
        title: `Application key “${name}” created`,
        warning: 'Copy this key now and store it safely: this is the only time it is shown in full here.',
        value: key || '',
        label: 'Application key',
        focusAfter: () => create.nameInput.focus(),
      });
      list.announce(`Application key “${name}” was created.`);
      list.reload();
    },
  });
  const el = h('div', { class: 'tab-panel', testid: 'my-app-keys-panel' },
    h('div', { class: 'panel' },
      h('div', { class: 'panel-head' }, h('h2', {}, 'New application key'), counter),
      create.form,
      secretSlot),
    list.el);
  list.reload();
  return { el, destroy: () => list.destroy() };
}

function orgAppKeysList(canWrite) {
  const base = '/api/v2/application_keys';
  const counter = h('p', { class: 'counter', testid: 'all-app-keys-count', 'aria-live': 'polite' });
  const list = new ListView({
    prefix: 'all-app-keys',
    title: 'All application keys of the organization',
    headerExtra: counter,
    noun: ['application key', 'application keys'],
    searchLabel: 'Search application keys by name',
    defaultSort: 'name',
    pageSizes: [10, 25, 50, 100],
    columns: [
      { id: 'name', label: 'Name', sort: 'name', primary: true, cell: nameCell },
      { id: 'owner', label: 'Owner', cell: (item, row) => userLabel(relatedUser(item, 'owned_by', row.context.users)) },
      { id: 'last4', label: 'Key', sort: 'last4', cell: last4Cell },
      { id: 'scopes', label: 'Scopes', cell: scopesCell },
      { id: 'created', label: 'Created', sort: 'created_at', sortKind: 'date', cell: (item) => timeEl(item.attributes.created_at) },
      { id: 'last-used', label: 'Last used', cell: (item) => timeEl(item.attributes.last_used_at, 'Never') },
      EXPIRES_COLUMN,
    ],
    actions: canWrite ? (item, row) => {
      const path = `${base}/${encodeURIComponent(item.id)}`;
      const patch = async (attributes, action) => {
        const doc = await request('PATCH', path, { body: { data: { type: 'application_keys', id: item.id, attributes } }, action });
        return keepRelationships(row.item, doc && doc.data);
      };
      const owner = relatedUser(item, 'owned_by', row.context.users);
      const ownerName = owner && owner.attributes && (owner.attributes.name || owner.attributes.email);
      return [
        renameButton(row, { noun: 'application key', save: (name) => patch({ name }, 'rename the organization’s application keys') }),
        editScopesButton(row, { noun: 'application key', save: (scopes) => patch({ scopes }, 'change the scopes of the organization’s application keys') }),
        revokeButton(row, {
          noun: 'application key',
          message: [
            h('p', {}, 'Revoke ', h('strong', {}, `“${row.name}”`), ` (…${item.attributes.last4})${ownerName ? `, owned by ${ownerName}` : ''}?`),
            'Scripts and tools that use this key lose access immediately. This cannot be undone.',
          ],
          remove: () => request('DELETE', path, { action: 'revoke the organization’s application keys' }),
        }),
      ];
    } : null,
    load: async ({ page, size, sort, filter, signal }) => {
      const doc = await request('GET', base, {
        query: { 'page[size]': size, 'page[number]': page, sort: sortParam(sort), filter, include: 'owned_by' },
        action: 'view the organization’s application keys',
        signal,
      });
      return { items: doc.data || [], ...pageCounts(doc), context: { users: includedIndex(doc) } };
    },
    onLoad: (result, state) => {
      const n = result.filtered;
      counter.textContent = `${n} ${state.filter ? 'matching ' : ''}application ${n === 1 ? 'key' : 'keys'}`;
      counter.dataset.count = String(n);
    },
  });
  return list;
}

// ---- Client Tokens ----

export function clientTokensPage(app) {
  const canWrite = app.can('client_tokens_write');
  const base = '/api/v2/client_tokens';
  const counter = h('p', { class: 'counter', testid: 'client-tokens-count', 'aria-live': 'polite' });
  const createdSlot = h('div', { class: 'secret-slot' });
  const list = new ListView({
    prefix: 'client-tokens',
    title: 'Client tokens of this organization',
    noun: ['client token', 'client tokens'],
    searchLabel: 'Search client tokens by name',
    defaultSort: 'name',
    pageSizes: [10, 25, 50, 100],
    columns: [
      { id: 'name', label: 'Name', sort: 'name', primary: true, cell: nameCell },
      { id: 'token', label: 'Token', class: 'col-wide', cell: (item) => copyField(item.attributes.key || '', { label: 'Client token', valueTestid: 'token-value', asText: true }) },
      { id: 'created-by', label: 'Created by', cell: (item, row) => userLabel(relatedUser(item, 'created_by', row.context.users)) },
      { id: 'created', label: 'Created', sort: 'created_at', sortKind: 'date', cell: (item) => timeEl(item.attributes.created_at) },
      { id: 'modified', label: 'Modified', sort: 'modified_at', sortKind: 'date', cell: (item) => timeEl(item.attributes.modified_at) },
      EXPIRES_COLUMN,
    ],
    actions: canWrite ? (item, row) => {
      const path = `${base}/${encodeURIComponent(item.id)}`;
      return [
        renameButton(row, {
          noun: 'client token',
          save: async (name) => {
            const doc = await request('PATCH', path, { body: { data: { type: 'client_tokens', id: item.id, attributes: { name } } }, action: 'rename client tokens' });
            return keepRelationships(row.item, doc && doc.data);
          },
        }),
        revokeButton(row, {
          noun: 'client token',
          message: [
            h('p', {}, 'Revoke ', h('strong', {}, `“${row.name}”`), '?'),
            'Browser log collection, Real User Monitoring and other browser or mobile SDKs that use this token stop being accepted immediately. Pages already deployed with it will need a new token. This cannot be undone.',
          ],
          remove: () => request('DELETE', path, { action: 'revoke client tokens' }),
        }),
      ];
    } : null,
    load: async ({ page, size, sort, filter, signal }) => {
      const doc = await request('GET', base, {
        query: { 'page[size]': size, 'page[number]': page, sort: sortParam(sort), filter, include: 'created_by' },
        action: 'view client tokens',
        signal,
      });
      return { items: doc.data || [], ...pageCounts(doc), context: { users: includedIndex(doc) } };
    },
    onLoad: (result, state) => {
      const n = state.filter && result.total !== undefined ? result.total : result.filtered;
      counter.textContent = `${n} client ${n === 1 ? 'token' : 'tokens'}`;
      counter.dataset.count = String(n);
    },
  });
  let create = null;
  if (canWrite) {
    const expiry = expiryField('client-tokens');
    create = createForm({
      prefix: 'client-tokens',
      extraFields: [expiry],
      label: 'Name of the new client token',
      buttonLabel: 'Create client token',
      busyLabel: 'Creating…',
      placeholder: 'e.g. storefront RUM',
      onSubmit: async ({ name }) => {
        const doc = await request('POST', base, { body: { data: { type: 'client_tokens', attributes: withExpiry({ name }, expiry) } }, action: 'create client tokens' });
        const key = doc && doc.data && doc.data.attributes && doc.data.attributes.key;
        showNewSecret(createdSlot, {
          testid: 'client-tokens-new-token',
          title: `Client token “${name}” created`,
          warning: 'Client tokens are not secret: use this one in your browser or mobile SDK configuration. It stays visible in the list below.',
          value: key || '',
          label: 'Client token',
          tone: 'success',
          focusAfter: () => create.nameInput.focus(),
        });
        list.announce(`Client token “${name}” was created.`);
        list.reload();
      },
    });
  }
  const el = h('div', { class: 'page', testid: 'client-tokens-page' },
    pageHeader('Client Tokens', 'Client tokens let web browsers and mobile apps send logs and Real User Monitoring data. They are public by design: they ship inside your pages, so they cannot read anything or manage the organization.'),
    h('div', { class: 'panel' },
      h('div', { class: 'panel-head' }, h('h2', {}, 'New client token'), counter),
      create ? create.form : noPermission('client-tokens-create-forbidden', 'You don’t have permission to create client tokens.'),
      createdSlot),
    list.el);
  list.reload();
  return { el, title: 'Client Tokens', destroy: () => list.destroy() };
}
