// keyplane console: the API Keys page.

import { request, includedIndex, relatedUser, pageCounts } from './api.js';
import { h, timeEl, userLabel } from './dom.js';
import { ListView, nameCell, renameButton } from './list.js';
import { pageHeader, last4Cell, EXPIRES_COLUMN, expiryField, withExpiry, createForm, noPermission, revokeButton, revealButton, sortParam, keepRelationships, showNewSecret } from './key_parts.js';
import { rotateButton, rolloutButton } from './rotation.js';

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
      canWrite ? rotateButton(row, { noun: 'API key', path: `/api/v2/api_keys/${encodeURIComponent(item.id)}`, type: 'api_keys' }) : null,
      rolloutButton(row, { path: `/api/v2/api_keys/${encodeURIComponent(item.id)}` }),
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
