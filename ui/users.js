// keyplane console: the Users page (users and service accounts).

import { request, errorMessage, pageCounts } from './api.js';
import { h, field, errorBox, setBusy, timeEl, openDialog, uid, secretPanel } from './dom.js';
import { ListView, actionButton } from './list.js';
import { pageHeader } from './key_parts.js';

const STATUS_CLASS = { Active: 'badge-success', Pending: 'badge-warning', Disabled: 'badge-muted' };

function slug(text) {
  return String(text).toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
}

let rolesPromise = null;

/** The organization's roles, fetched once per session: [{ id, name }]. */
function loadRoles() {
  if (!rolesPromise) {
    rolesPromise = request('GET', '/api/v2/roles', { query: { 'page[size]': 100 }, action: 'view roles' })
      .then((doc) => (doc.data || []).map((role) => ({ id: role.id, name: (role.attributes && role.attributes.name) || role.id })))
      .catch((error) => {
        rolesPromise = null;
        throw error;
      });
  }
  return rolesPromise;
}

export function forgetRoles() {
  rolesPromise = null;
}

export function usersPage(app) {
  const me = app.session.user || {};
  const canInvite = app.can('user_access_invite');
  const canCreateServiceAccount = app.can('service_account_write');
  const canManage = app.can('user_access_manage');
  let roleNames = new Map();
  const counter = h('span', { class: 'counter', testid: 'users-count', 'aria-live': 'polite' });

  const list = new ListView({
    prefix: 'users',
    title: 'Users and service accounts',
    headerExtra: counter,
    noun: ['user', 'users'],
    searchLabel: 'Search users by name or email',
    placeholder: 'Filter by name or email',
    defaultSort: 'name',
    pageSizes: [10, 25, 50, 100],
    columns: [
      {
        id: 'name', label: 'Name', sort: 'name', primary: true,
        cell: (item) => h('span', { class: 'item-name', testid: 'row-name' },
          item.attributes.name || h('span', { class: 'muted' }, 'No name'),
          item.id === me.id ? h('span', { class: 'badge badge-neutral', testid: 'row-you' }, 'You') : null),
      },
      { id: 'email', label: 'Email', sort: 'email', cell: (item) => h('span', { class: 'break', testid: 'row-email' }, item.attributes.email || '—') },
      {
        id: 'type', label: 'Type',
        cell: (item) => h('span', { testid: 'row-type' }, item.attributes.service_account ? 'Service account' : 'User'),
      },
      {
        id: 'status', label: 'Status', sort: 'status',
        cell: (item) => {
          const status = item.attributes.status || (item.attributes.disabled ? 'Disabled' : 'Active');
          return h('span', { class: `badge ${STATUS_CLASS[status] || 'badge-neutral'}`, testid: 'row-status' }, status);
        },
      },
      {
        id: 'roles', label: 'Roles',
        cell: (item) => {
          const links = (item.relationships && item.relationships.roles && item.relationships.roles.data) || [];
          if (!links.length) return h('span', { class: 'muted', testid: 'row-roles' }, 'No role');
          return h('ul', { class: 'chips', testid: 'row-roles' }, links.map((link) => h('li', { class: 'chip' }, roleNames.get(link.id) || 'Unknown role')));
        },
      },
      { id: 'created', label: 'Created', sort: 'created_at', sortKind: 'date', cell: (item) => timeEl(item.attributes.created_at) },
    ],
    actions: (item, row) => {
      const serviceAccount = Boolean(item.attributes.service_account);
      const disabled = item.attributes.disabled || item.attributes.status === 'Disabled';
      const allowed = canManage || (serviceAccount && canCreateServiceAccount);
      const who = item.attributes.name || item.attributes.email;
      // keyplane sends no email: the link is shown here, once, for the inviter to pass on.
      const invite = canInvite && !serviceAccount && !disabled && item.attributes.status === 'Pending'
        ? actionButton('row-invite', 'Invitation link', async () => {
          row.clearError();
          try {
            const sent = await request('POST', '/api/console/invitations', { body: { user_id: item.id }, action: 'invite users' });
            const link = `${window.location.origin}${sent.link}`;
            const panel = secretPanel({
              testid: 'invite-link',
              title: `Invitation link for ${who}`,
              warning: `keyplane sends no email: pass this link on. It works once, until ${new Date(sent.expires_at).toLocaleString()}, and replaces earlier links.`,
              value: link,
              label: 'Invitation link',
              onDismiss: () => row.hideDetail(),
            });
            row.showDetail(panel);
            panel.focusHeading();
          } catch (err) {
            row.showError(errorMessage(err));
          }
        }, { ariaLabel: `Invitation link for ${who}` })
        : null;
      // A service account's tokens live on its own page.
      const tokens = serviceAccount
        ? actionButton('row-access-tokens', 'Access tokens', () => { window.location.hash = `#/users/${encodeURIComponent(item.id)}/access-tokens`; }, { ariaLabel: `Access tokens of ${who}` })
        : null;
      const first = [...(invite ? [invite] : []), ...(tokens ? [tokens] : []), ...(canManage && !disabled ? [editRolesButton(item, row, who, list)] : [])];
      if (disabled || !allowed || item.id === me.id) return first;
      return [...first, actionButton('row-disable', 'Disable', async () => {
        row.clearError();
        const done = await openDialog({
          testid: 'confirm-dialog',
          title: `Disable ${serviceAccount ? 'service account' : 'user'}?`,
          message: [
            h('p', {}, 'Disable ', h('strong', {}, who), item.attributes.email && item.attributes.email !== who ? ` (${item.attributes.email})` : '', '?'),
            serviceAccount
              ? 'The service account can no longer act: every application key it owns is deleted immediately.'
              : 'They can no longer sign in, and every application key they own is deleted immediately.',
            'API keys they created stay valid: revoke those separately on the API Keys page if they should stop working too.',
          ],
          confirmLabel: serviceAccount ? 'Disable service account' : 'Disable user',
          busyLabel: 'Disabling…',
          danger: true,
          action: () => request('DELETE', `/api/v2/users/${encodeURIComponent(item.id)}`, { action: serviceAccount ? 'disable service accounts' : 'disable users' }),
          errorText: errorMessage,
        });
        if (done) {
          list.announce(`${who} was disabled.`);
          list.focusHeading();
          list.reload();
        }
      }, { danger: true, ariaLabel: `Disable ${who}` })];
    },
    load: async ({ page, size, sort, filter, signal }) => {
      const [doc, roles] = await Promise.all([
        request('GET', '/api/v2/users', {
          query: { 'page[size]': size, 'page[number]': page, sort: sort || undefined, filter },
          action: 'view users',
          signal,
        }),
        loadRoles().catch(() => []),
      ]);
      roleNames = new Map(roles.map((r) => [r.id, r.name]));
      return { items: doc.data || [], ...pageCounts(doc) };
    },
    onLoad: (result, state) => {
      const n = state.filter ? result.filtered : (result.total !== undefined ? result.total : result.filtered);
      counter.textContent = `${n} ${state.filter ? 'matching ' : ''}${n === 1 ? 'account' : 'accounts'}`;
      counter.dataset.count = String(n);
    },
  });

  const createPanel = canInvite || canCreateServiceAccount ? createUserForm({ canInvite, canCreateServiceAccount, list }) : null;
  const el = h('div', { class: 'page', testid: 'users-page' },
    pageHeader('Users', 'People who sign in to this organization, and service accounts that act only through their application keys.'),
    createPanel ? createPanel.el : h('p', { class: 'notice', testid: 'users-create-forbidden' }, 'You don’t have permission to add users or service accounts.'),
    list.el);
  list.reload();
  return { el, title: 'Users', destroy: () => list.destroy() };
}

/** A dialog of role checkboxes; saving adds and removes the account through the roles API. */
function editRolesButton(item, row, who, list) {
  return actionButton('row-edit-roles', 'Edit roles', async () => {
    row.clearError();
    let roles;
    try {
      roles = await loadRoles();
    } catch (err) {
      row.showError(`Roles could not be loaded: ${errorMessage(err)}`);
      return;
    }
    const held = new Set(((item.relationships && item.relationships.roles && item.relationships.roles.data) || []).map((r) => r.id));
    const boxes = roles.map((role) => {
      const input = h('input', { type: 'checkbox', value: role.id, id: uid('role'), testid: `roles-dialog-role-${slug(role.name)}`, checked: held.has(role.id) });
      return h('label', { class: 'checkbox', for: input.id }, input, role.name);
    });
    const done = await openDialog({
      testid: 'roles-dialog',
      title: `Roles of ${who}`,
      message: 'The account may do what any of its roles grants, from its next request on.',
      body: [h('fieldset', { class: 'roles-fieldset' }, h('legend', {}, 'Roles'), h('div', { class: 'role-options' }, boxes))],
      confirmLabel: 'Save roles',
      busyLabel: 'Saving…',
      action: async () => {
        const wanted = new Set(boxes.map((b) => b.querySelector('input')).filter((i) => i.checked).map((i) => i.value));
        const body = { data: { type: 'users', id: item.id } };
        // Additions first: removing the last admin role before adding another would be refused.
        for (const id of wanted) {
          if (!held.has(id)) await request('POST', `/api/v2/roles/${encodeURIComponent(id)}/users`, { body, action: 'change roles' });
        }
        for (const id of held) {
          if (!wanted.has(id)) await request('DELETE', `/api/v2/roles/${encodeURIComponent(id)}/users`, { body, action: 'change roles' });
        }
      },
      errorText: errorMessage,
    });
    if (done) {
      list.announce(`The roles of ${who} were saved.`);
      list.reload();
    }
  }, { ariaLabel: `Edit the roles of ${who}` });
}

function createUserForm({ canInvite, canCreateServiceAccount, list }) {
  const kindName = uid('kind');
  const kinds = [];
  if (canInvite) kinds.push({ value: 'user', label: 'User', testid: 'users-create-kind-user' });
  if (canCreateServiceAccount) kinds.push({ value: 'service_account', label: 'Service account', testid: 'users-create-kind-service-account' });
  const radios = kinds.map((kind, index) => {
    const input = h('input', { type: 'radio', name: kindName, value: kind.value, id: uid('kind'), testid: kind.testid, checked: index === 0 });
    return h('label', { class: 'radio', for: input.id }, input, kind.label);
  });
  const kindFieldset = h('fieldset', { class: 'kind-fieldset', testid: 'users-create-kind' }, h('legend', {}, 'Account type'), radios);

  const email = h('input', { type: 'email', name: 'email', testid: 'users-create-email', autocomplete: 'off', required: true, maxlength: '255', placeholder: 'name@example.com' });
  const name = h('input', { type: 'text', name: 'name', testid: 'users-create-name', autocomplete: 'off', maxlength: '255' });
  const emailField = field({ label: 'Email', input: email });
  const nameField = field({ label: 'Name (optional)', input: name });

  const rolesBox = h('div', { class: 'role-options' }, h('p', { class: 'muted' }, 'Loading roles…'));
  const rolesFieldset = h('fieldset', { class: 'roles-fieldset', testid: 'users-create-roles' }, h('legend', {}, 'Roles'), rolesBox,
    h('p', { class: 'hint' }, 'An account without a role has no permission.'));
  const rolesError = errorBox('users-create-roles-error');
  loadRoles().then((roles) => {
    rolesBox.replaceChildren(...roles.map((role) => {
      const input = h('input', { type: 'checkbox', value: role.id, id: uid('role'), testid: `users-create-role-${slug(role.name)}`, checked: /standard/i.test(role.name) });
      return h('label', { class: 'checkbox', for: input.id }, input, role.name);
    }));
  }).catch((error) => {
    rolesBox.replaceChildren();
    rolesError.show(`Roles could not be loaded: ${errorMessage(error)}`);
  });

  const submit = h('button', { type: 'submit', class: 'btn btn-primary', testid: 'users-create-submit' }, kinds[0].value === 'user' ? 'Add user' : 'Create service account');
  const error = errorBox('users-create-error');
  const success = h('p', { class: 'notice notice-success', testid: 'users-create-success', role: 'status', hidden: true });
  const kind = () => {
    const checked = kindFieldset.querySelector('input:checked');
    return checked ? checked.value : kinds[0].value;
  };
  kindFieldset.addEventListener('change', () => {
    submit.textContent = kind() === 'user' ? 'Add user' : 'Create service account';
  });
  const form = h('form', { class: 'create-form user-form', testid: 'users-create-form', novalidate: true },
    kinds.length > 1 ? kindFieldset : h('p', { class: 'muted' }, `Account type: ${kinds[0].label}`),
    h('div', { class: 'create-fields' }, emailField.wrap, nameField.wrap),
    rolesFieldset, rolesError,
    h('div', { class: 'form-buttons' }, submit),
    error, success);
  let pending = false;
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (pending) return;
    success.hidden = true;
    const address = email.value.trim();
    if (!address) {
      error.show('Enter an email address.');
      email.focus();
      return;
    }
    const serviceAccount = kind() === 'service_account';
    const roles = [...rolesBox.querySelectorAll('input:checked')].map((input) => ({ type: 'roles', id: input.value }));
    const attributes = { email: address };
    if (name.value.trim()) attributes.name = name.value.trim();
    if (serviceAccount) attributes.service_account = true;
    pending = true;
    error.clear();
    setBusy(submit, true, serviceAccount ? 'Creating…' : 'Adding…');
    try {
      const doc = await request('POST', serviceAccount ? '/api/v2/service_accounts' : '/api/v2/users', {
        body: { data: { type: 'users', attributes, relationships: { roles: { data: roles } } } },
        action: serviceAccount ? 'create service accounts' : 'invite users',
      });
      const created = (doc && doc.data && doc.data.attributes) || {};
      const label = created.name || created.email || address;
      success.textContent = serviceAccount
        ? `Service account ${label} was created. Give it application keys to let it act.`
        : `User ${label} was added with status ${created.status || 'Pending'}.`;
      success.hidden = false;
      email.value = '';
      name.value = '';
      list.reload();
      email.focus();
    } catch (err) {
      error.show(errorMessage(err));
      email.focus();
    } finally {
      pending = false;
      setBusy(submit, false);
    }
  });
  const el = h('section', { class: 'panel', testid: 'users-create', 'aria-label': 'Add a user or service account' },
    h('div', { class: 'panel-head' }, h('h2', {}, 'Add a user or service account')),
    form);
  return { el };
}
