// keyplane console: the Access Tokens page (#/access-tokens): personal access tokens (ddpat_)
// and service-account access tokens (ddsat_), with their expiry in view. A token is shown
// once, when it is created; it expires by itself and cannot be extended.

import { request, errorMessage, pageCounts } from './api.js';
import { h, field, errorBox, setBusy, timeEl, secretPanel, openDialog } from './dom.js';
import { ListView, actionButton } from './list.js';
import { pageHeader } from './key_parts.js';

const DAY_MS = 24 * 60 * 60 * 1000;
/** Tokens expiring within this many days are flagged. */
const SOON_DAYS = 7;

/** "Expired", "Expires today", "Expires in N days", or "Never expires". */
export function expiryText(iso, now = Date.now()) {
  if (!iso) return { text: 'Never expires', tone: 'badge-neutral' };
  const left = Date.parse(iso) - now;
  if (left <= 0) return { text: 'Expired', tone: 'badge-muted' };
  const days = Math.floor(left / DAY_MS);
  const text = days === 0 ? 'Expires today' : `Expires in ${days} ${days === 1 ? 'day' : 'days'}`;
  return { text, tone: days < SOON_DAYS ? 'badge-warning' : 'badge-success' };
}

const isServiceToken = (item) => item.type === 'service_access_tokens';
const ownerId = (item) => item.relationships && item.relationships.owned_by && item.relationships.owned_by.data && item.relationships.owned_by.data.id;

function tokenPath(item) {
  return isServiceToken(item)
    ? `/api/v2/service_accounts/${encodeURIComponent(ownerId(item))}/access_tokens/${encodeURIComponent(item.id)}`
    : `/api/v2/personal_access_tokens/${encodeURIComponent(item.id)}`;
}

/** The token list: every token of the organization, or one service account's (`owner`). */
function tokenList(app, owner) {
  const me = app.session.user || {};
  const list = new ListView({
    prefix: 'access-tokens',
    title: 'Access tokens',
    noun: ['token', 'tokens'],
    searchLabel: 'Search tokens by name',
    defaultSort: 'name',
    pageSizes: [10, 25, 50, 100],
    columns: [
      { id: 'name', label: 'Name', sort: 'name', primary: true, cell: (item) => h('span', { class: 'item-name', testid: 'row-name' }, item.attributes.name) },
      {
        id: 'type', label: 'Owner',
        cell: (item) => h('span', { testid: 'row-type' }, isServiceToken(item) ? 'Service account' : (ownerId(item) === me.id ? 'You' : 'User')),
      },
      { id: 'token', label: 'Token', cell: (item) => h('span', { class: 'mono', testid: 'row-public' }, item.attributes.public_portion || '—') },
      {
        id: 'scopes', label: 'Scopes',
        cell: (item) => h('ul', { class: 'chips', testid: 'row-scopes' }, (item.attributes.scopes || []).map((s) => h('li', { class: 'chip mono' }, s))),
      },
      {
        id: 'expires', label: 'Expires', sort: 'expires_at', sortKind: 'date',
        cell: (item) => {
          const { text, tone } = expiryText(item.attributes.expires_at);
          return h('span', {}, h('span', { class: `badge ${tone}`, testid: 'row-expiry' }, text), ' ', timeEl(item.attributes.expires_at, ''));
        },
      },
      { id: 'last-used', label: 'Last used', sort: 'last_used_at', sortKind: 'date', cell: (item) => timeEl(item.attributes.last_used_at, 'Never') },
    ],
    actions: (item, row) => [actionButton('row-revoke', 'Revoke', async () => {
      row.clearError();
      const done = await openDialog({
        title: 'Revoke token?',
        message: [h('p', {}, 'Revoke ', h('strong', {}, item.attributes.name), '?'),
          'Everything that authenticates with it is refused from its next request, on every node.'],
        confirmLabel: 'Revoke token',
        busyLabel: 'Revoking…',
        danger: true,
        action: () => request('DELETE', tokenPath(item), { action: 'revoke tokens' }),
        errorText: errorMessage,
      });
      if (done) {
        list.announce(`${item.attributes.name} was revoked.`);
        list.focusHeading();
        list.reload();
      }
    }, { danger: true, ariaLabel: `Revoke ${item.attributes.name}` })],
    load: async ({ page, size, sort, filter, signal }) => {
      const path = owner
        ? `/api/v2/service_accounts/${encodeURIComponent(owner)}/access_tokens`
        : '/api/v2/personal_access_tokens';
      const doc = await request('GET', path, {
        query: { 'page[size]': size, 'page[number]': page, sort: sort || undefined, filter },
        action: 'view access tokens',
        signal,
      });
      return { items: doc.data || [], ...pageCounts(doc) };
    },
  });
  return list;
}

export function accessTokensPage(app) {
  const canServiceAccounts = app.can('service_account_write') || app.can('org_app_keys_write');
  const list = tokenList(app, null);
  const el = h('div', { class: 'page', testid: 'access-tokens-page' },
    pageHeader('Access Tokens', 'Expiring, scoped tokens that authenticate alone (Authorization: Bearer, or in DD-APPLICATION-KEY): personal tokens for you, service-account tokens for automation.'),
    createTokenForm({ canServiceAccounts, list }),
    list.el);
  list.reload();
  return { el, title: 'Access Tokens', destroy: () => list.destroy() };
}

/** One service account's page (#/users/<id>/access-tokens): its tokens, and a form for more. */
export function serviceAccountTokensPage(app, accountId) {
  const list = tokenList(app, accountId);
  const header = pageHeader('Service account tokens', 'Tokens this service account authenticates with; each expires by itself (or never, if made so) and is shown once.');
  const title = header.querySelector('h1');
  const back = h('p', {}, h('a', { href: '#/users', testid: 'service-account-back' }, '← Users'));
  const form = h('div', { testid: 'service-account-form-slot' });
  const el = h('div', { class: 'page', testid: 'service-account-tokens-page', 'data-id': accountId }, back, header, form, list.el);
  request('GET', `/api/v2/users/${encodeURIComponent(accountId)}`, { action: 'view service accounts' })
    .then((doc) => {
      const attrs = doc.data.attributes;
      if (title) title.textContent = `Tokens of ${attrs.name || attrs.email}`;
      if (!attrs.disabled) form.replaceChildren(createTokenForm({ owner: accountId, list }));
    })
    .catch((err) => {
      const box = errorBox('service-account-error');
      box.show(errorMessage(err));
      form.replaceChildren(box);
    });
  list.reload();
  return { el, title: 'Service account tokens', destroy: () => list.destroy() };
}

/** The create form; with `owner`, every token is that service account's. */
function createTokenForm({ canServiceAccounts = false, owner: fixedOwner = null, list }) {
  const name = h('input', { type: 'text', testid: 'access-tokens-create-name', maxlength: '255', autocomplete: 'off', required: true });
  const scopes = h('input', { type: 'text', testid: 'access-tokens-create-scopes', autocomplete: 'off', placeholder: 'api_keys_read, dashboards_read', required: true });
  const owner = h('select', { testid: 'access-tokens-create-owner' },
    fixedOwner ? h('option', { value: fixedOwner }, 'This service account') : h('option', { value: '' }, 'Me (personal token)'));
  const expiry = h('select', { testid: 'access-tokens-create-expiry' },
    [7, 30, 90, 365].map((days) => h('option', { value: String(days), selected: days === 30 }, `${days} days`)));
  const never = h('option', { value: 'never' }, 'Never (service accounts only)');
  const syncExpiry = () => {
    if (owner.value) {
      if (!never.isConnected) expiry.append(never);
    } else if (never.isConnected) {
      if (expiry.value === 'never') expiry.value = '30';
      never.remove();
    }
  };
  owner.addEventListener('change', syncExpiry);
  syncExpiry();
  if (canServiceAccounts) {
    request('GET', '/api/v2/users', { query: { 'page[size]': 100 }, action: 'view service accounts' })
      .then((doc) => {
        for (const user of doc.data || []) {
          if (user.attributes.service_account && !user.attributes.disabled) {
            owner.append(h('option', { value: user.id }, `Service account: ${user.attributes.name || user.attributes.email}`));
          }
        }
      })
      .catch(() => {});
  }
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', testid: 'access-tokens-create-submit' }, 'Create token');
  const error = errorBox('access-tokens-create-error');
  const slot = h('div', { testid: 'access-tokens-new-slot' });
  const form = h('form', { class: 'create-form', testid: 'access-tokens-create-form', novalidate: true },
    h('div', { class: 'create-fields' },
      field({ label: 'Name', input: name }).wrap,
      field({ label: 'Scopes', input: scopes, hint: 'Permission names, separated by commas: the token can do at most this.' }).wrap,
      field({ label: 'Owner', input: owner }).wrap,
      field({ label: 'Expires after', input: expiry }).wrap,
      h('div', { class: 'create-submit' }, submit)),
    error, slot);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const wanted = scopes.value.split(/[\s,]+/).filter(Boolean);
    if (!name.value.trim() || !wanted.length) {
      error.show(!name.value.trim() ? 'Enter a name.' : 'Enter at least one scope.');
      (!name.value.trim() ? name : scopes).focus();
      return;
    }
    error.clear();
    setBusy(submit, true, 'Creating…');
    const attributes = { name: name.value.trim(), scopes: [...new Set(wanted)] };
    if (expiry.value !== 'never') attributes.expires_at = new Date(Date.now() + Number(expiry.value) * 24 * 60 * 60 * 1000).toISOString();
    const serviceAccount = owner.value;
    try {
      const doc = await request('POST', serviceAccount
        ? `/api/v2/service_accounts/${encodeURIComponent(serviceAccount)}/access_tokens`
        : '/api/v2/personal_access_tokens', {
        body: { data: { type: serviceAccount ? 'service_access_tokens' : 'personal_access_tokens', attributes } },
        action: 'create access tokens',
      });
      const panel = secretPanel({
        testid: 'access-tokens-new-token',
        title: `Token “${doc.data.attributes.name}”`,
        warning: `Copy it now: it is shown only once. ${expiryText(doc.data.attributes.expires_at).text}.`,
        value: doc.data.attributes.key,
        label: 'Token',
        onDismiss: () => slot.replaceChildren(),
      });
      slot.replaceChildren(panel);
      panel.focusHeading();
      name.value = '';
      list.reload();
    } catch (err) {
      error.show(errorMessage(err));
    } finally {
      setBusy(submit, false);
    }
  });
  return h('section', { class: 'panel', testid: 'access-tokens-create', 'aria-label': 'Create an access token' },
    h('div', { class: 'panel-head' }, h('h2', {}, 'Create an access token')), form);
}
