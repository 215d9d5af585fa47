// keyplane console: the Application Keys page (your keys, and every key of the organization).

import { request, errorMessage, includedIndex, relatedUser, pageCounts } from './api.js';
import { h, field, timeEl, userLabel, openDialog } from './dom.js';
import { ListView, actionButton, nameCell, renameButton } from './list.js';
import { pageHeader, last4Cell, EXPIRES_COLUMN, expiryField, withExpiry, scopesCell, parseScopes, createForm, noPermission, revokeButton, revealButton, sortParam, keepRelationships, showNewSecret } from './key_parts.js';
import { rotateButton } from './rotation.js';

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
        rotateButton(row, { noun: 'application key', path, type: 'application_keys' }),
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
