// keyplane console: the Client Tokens page.

import { request, includedIndex, relatedUser, pageCounts } from './api.js';
import { h, timeEl, userLabel, copyField } from './dom.js';
import { ListView, nameCell, renameButton } from './list.js';
import { pageHeader, EXPIRES_COLUMN, expiryField, withExpiry, createForm, noPermission, revokeButton, sortParam, keepRelationships, showNewSecret } from './key_parts.js';
import { rotateButton } from './rotation.js';

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
        rotateButton(row, { noun: 'client token', path, type: 'client_tokens' }),
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
