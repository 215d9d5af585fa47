// keyplane console: the Roles page (#/roles) and one role's page (#/roles/<id>): create,
// clone, rename and delete custom roles, grant and revoke permissions, add and remove users.
// Managed roles (Admin, Standard, Read Only) are shown read-only, as Datadog shows them.

import { request, errorMessage, pageCounts } from './api.js';
import { h, field, errorBox, setBusy, timeEl, openDialog } from './dom.js';
import { ListView, actionButton } from './list.js';
import { pageHeader } from './key_parts.js';
import { forgetRoles } from './users.js';

let permissionsPromise = null;

/** Every permission, fetched once per page load (about 300 of them, in Datadog's order). */
function loadPermissions() {
  if (!permissionsPromise) {
    permissionsPromise = request('GET', '/api/v2/permissions', { action: 'view permissions' })
      .then((doc) => doc.data || [])
      .catch((error) => {
        permissionsPromise = null;
        throw error;
      });
  }
  return permissionsPromise;
}

const roleBody = (attributes, id) => ({ data: { type: 'roles', ...(id ? { id } : {}), attributes } });
const linkBody = (type, id) => ({ data: { type, id } });
const rolePath = (id, tail = '') => `/api/v2/roles/${encodeURIComponent(id)}${tail}`;
const isManaged = (role) => Boolean(role.attributes && role.attributes.managed);

export function rolesPage(app, roleId) {
  return roleId ? rolePage(app, roleId) : rolesListPage(app);
}

// ---- the list of roles ----

function rolesListPage(app) {
  const canManage = app.can('user_access_manage');
  const list = new ListView({
    prefix: 'roles',
    title: 'Roles',
    noun: ['role', 'roles'],
    searchLabel: 'Search roles by name',
    defaultSort: 'name',
    pageSizes: [25, 50, 100],
    columns: [
      {
        id: 'name', label: 'Name', sort: 'name', primary: true,
        cell: (item) => h('span', { class: 'item-name', testid: 'row-name' },
          h('a', { href: `#/roles/${encodeURIComponent(item.id)}`, testid: 'row-open' }, item.attributes.name),
          isManaged(item) ? h('span', { class: 'badge badge-neutral', testid: 'row-managed' }, 'Managed') : null),
      },
      { id: 'users', label: 'Users', sort: 'user_count', cell: (item) => h('span', { testid: 'row-user-count' }, String(item.attributes.user_count ?? 0)) },
      { id: 'modified', label: 'Modified', sort: 'modified_at', sortKind: 'date', cell: (item) => timeEl(item.attributes.modified_at) },
    ],
    actions: (item, row) => (canManage ? roleActions(item, row, list) : []),
    load: async ({ page, size, sort, filter, signal }) => {
      const doc = await request('GET', '/api/v2/roles', {
        query: { 'page[size]': size, 'page[number]': page, sort: sort || undefined, filter },
        action: 'view roles',
        signal,
      });
      return { items: doc.data || [], ...pageCounts(doc) };
    },
  });
  const el = h('div', { class: 'page', testid: 'roles-page' },
    pageHeader('Roles', 'A role is a set of permissions; a user or service account may do what any of its roles grants.'),
    canManage ? createRoleForm(app) : h('p', { class: 'notice', testid: 'roles-create-forbidden' }, 'You don’t have permission to manage roles.'),
    list.el);
  list.reload();
  return { el, title: 'Roles', destroy: () => list.destroy() };
}

function roleActions(item, row, list) {
  const actions = [actionButton('row-clone', 'Clone', async () => {
    row.clearError();
    const name = h('input', { type: 'text', testid: 'clone-name', maxlength: '255', value: `${item.attributes.name} (copy)` });
    const clone = await openDialog({
      title: `Clone ${item.attributes.name}`,
      message: 'The new role starts with the same permissions and no users.',
      body: [field({ label: 'Name of the new role', input: name }).wrap],
      confirmLabel: 'Clone role',
      busyLabel: 'Cloning…',
      action: () => request('POST', rolePath(item.id, '/clone'), { body: roleBody({ name: name.value.trim() }), action: 'clone roles' }),
      errorText: errorMessage,
    });
    if (clone && clone.data) {
      forgetRoles();
      window.location.hash = `#/roles/${encodeURIComponent(clone.data.id)}`;
    }
  }, { ariaLabel: `Clone ${item.attributes.name}` })];
  if (!isManaged(item)) {
    actions.push(actionButton('row-delete', 'Delete', async () => {
      row.clearError();
      const done = await openDialog({
        title: 'Delete role?',
        message: [h('p', {}, 'Delete ', h('strong', {}, item.attributes.name), '?'),
          `Its ${item.attributes.user_count || 0} user(s) lose the permissions it grants at once, unless another of their roles grants them.`],
        confirmLabel: 'Delete role',
        busyLabel: 'Deleting…',
        danger: true,
        action: () => request('DELETE', rolePath(item.id), { action: 'delete roles' }),
        errorText: errorMessage,
      });
      if (done) {
        forgetRoles();
        list.announce(`${item.attributes.name} was deleted.`);
        list.focusHeading();
        list.reload();
      }
    }, { danger: true, ariaLabel: `Delete ${item.attributes.name}` }));
  }
  return actions;
}

function createRoleForm() {
  const name = h('input', { type: 'text', testid: 'roles-create-name', maxlength: '255', autocomplete: 'off', required: true });
  const optOut = h('input', { type: 'checkbox', testid: 'roles-create-opt-out', id: 'roles-create-opt-out' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', testid: 'roles-create-submit' }, 'Create role');
  const error = errorBox('roles-create-error');
  const form = h('form', { class: 'create-form', testid: 'roles-create-form', novalidate: true },
    h('div', { class: 'create-fields' }, field({ label: 'Name', input: name }).wrap, h('div', { class: 'create-submit' }, submit)),
    h('label', { class: 'checkbox', for: optOut.id }, optOut, 'Start empty, without Datadog’s default read permissions'),
    error);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!name.value.trim()) {
      error.show('Enter a name.');
      name.focus();
      return;
    }
    error.clear();
    setBusy(submit, true, 'Creating…');
    try {
      const attributes = { name: name.value.trim() };
      if (optOut.checked) attributes.default_permissions_opt_out = true;
      const doc = await request('POST', '/api/v2/roles', { body: roleBody(attributes), action: 'create roles' });
      forgetRoles();
      window.location.hash = `#/roles/${encodeURIComponent(doc.data.id)}`;
    } catch (err) {
      error.show(errorMessage(err));
      name.focus();
    } finally {
      setBusy(submit, false);
    }
  });
  return h('section', { class: 'panel', testid: 'roles-create', 'aria-label': 'Create a role' },
    h('div', { class: 'panel-head' }, h('h2', {}, 'Create a role')), form);
}

// ---- one role ----

function rolePage(app, roleId) {
  const title = h('h1', { class: 'page-title', testid: 'page-title', tabindex: '-1' }, 'Role');
  const badge = h('span', { class: 'badge badge-neutral', testid: 'role-managed', hidden: true }, 'Managed');
  const status = h('p', { class: 'list-status', testid: 'role-status', role: 'status', 'aria-live': 'polite' });
  const error = errorBox('role-error');
  const body = h('div', { class: 'role-body' }, h('p', { class: 'list-loading', testid: 'role-loading' }, 'Loading…'));
  const el = h('div', { class: 'page', testid: 'role-page', dataset: { id: roleId } },
    h('p', {}, h('a', { href: '#/roles', testid: 'role-back' }, '← All roles')),
    h('header', { class: 'page-header' }, h('div', { class: 'role-title' }, title, badge)),
    status, error, body);
  const say = (text) => { status.textContent = text; };

  (async () => {
    try {
      const [doc, permissions] = await Promise.all([
        request('GET', rolePath(roleId), { action: 'view roles' }),
        loadPermissions(),
      ]);
      const role = doc.data;
      title.textContent = role.attributes.name;
      document.title = `${role.attributes.name} · keyplane`;
      badge.hidden = !isManaged(role);
      const editable = app.can('user_access_manage') && !isManaged(role);
      body.replaceChildren(
        editable ? renameForm(role, title, say) : null,
        permissionsPanel(role, permissions, editable, say),
        usersPanel(role, app.can('user_access_manage'), say));
    } catch (err) {
      body.replaceChildren();
      error.show(errorMessage(err));
    }
  })();
  return { el, title: 'Role' };
}

function renameForm(role, title, say) {
  const name = h('input', { type: 'text', testid: 'role-name', maxlength: '255', value: role.attributes.name });
  const save = h('button', { type: 'submit', class: 'btn', testid: 'role-rename' }, 'Rename');
  const error = errorBox('role-rename-error');
  const form = h('form', { class: 'create-form', testid: 'role-rename-form', novalidate: true },
    h('div', { class: 'create-fields' }, field({ label: 'Name', input: name }).wrap, h('div', { class: 'create-submit' }, save)), error);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.clear();
    setBusy(save, true, 'Saving…');
    try {
      const doc = await request('PATCH', rolePath(role.id), { body: roleBody({ name: name.value.trim() }, role.id), action: 'rename roles' });
      title.textContent = doc.data.attributes.name;
      forgetRoles();
      say(`The role is now named ${doc.data.attributes.name}.`);
    } catch (err) {
      error.show(errorMessage(err));
    } finally {
      setBusy(save, false);
    }
  });
  return form;
}

/** Checkboxes by permission group; each change is granted or revoked at once. */
function permissionsPanel(role, permissions, editable, say) {
  const granted = new Set(((role.relationships && role.relationships.permissions && role.relationships.permissions.data) || []).map((p) => p.id));
  const count = h('span', { class: 'counter', testid: 'role-permissions-count' });
  const boxes = new Map();
  const sync = () => {
    for (const [id, box] of boxes) box.checked = granted.has(id);
    count.textContent = `${granted.size} granted`;
    count.dataset.count = String(granted.size);
  };
  const groups = new Map();
  for (const permission of permissions) {
    const group = permission.attributes.group_name || 'Other';
    if (!groups.has(group)) groups.set(group, []);
    groups.get(group).push(permission);
  }
  const error = errorBox('role-permissions-error');
  const search = h('input', { type: 'search', testid: 'role-permissions-search', placeholder: 'Filter permissions', autocomplete: 'off' });
  const fieldsets = [...groups].map(([group, members]) => h('fieldset', { class: 'permission-group' },
    h('legend', {}, group),
    members.map((permission) => {
      const { name, display_name: label, description } = permission.attributes;
      const box = h('input', { type: 'checkbox', value: permission.id, testid: `role-permission-${name}`, disabled: !editable });
      boxes.set(permission.id, box);
      box.addEventListener('change', async () => {
        error.clear();
        box.disabled = true;
        const method = box.checked ? 'POST' : 'DELETE';
        try {
          const doc = await request(method, rolePath(role.id, '/permissions'), { body: linkBody('permissions', permission.id), action: 'change role permissions' });
          // The answer is the role's permissions after the change, defaults included.
          granted.clear();
          for (const p of doc.data || []) granted.add(p.id);
          say(`${name} ${method === 'POST' ? 'granted' : 'revoked'}.`);
        } catch (err) {
          error.show(errorMessage(err));
        } finally {
          box.disabled = false;
          sync();
        }
      });
      return h('label', { class: 'checkbox permission', title: description, dataset: { name } }, box, h('span', { class: 'mono' }, name), label ? h('span', { class: 'muted' }, ` ${label}`) : null);
    })));
  search.addEventListener('input', () => {
    const needle = search.value.trim().toLowerCase();
    for (const set of fieldsets) {
      let shown = 0;
      for (const label of set.querySelectorAll('label.permission')) {
        label.hidden = Boolean(needle) && !label.textContent.toLowerCase().includes(needle);
        if (!label.hidden) shown += 1;
      }
      set.hidden = shown === 0;
    }
  });
  sync();
  return h('section', { class: 'panel', testid: 'role-permissions', 'aria-label': 'Permissions' },
    h('div', { class: 'panel-head' }, h('h2', {}, 'Permissions'), count),
    editable ? null : h('p', { class: 'muted' }, 'Managed roles cannot be changed. Clone one to make a role of your own.'),
    field({ label: 'Filter', input: search }).wrap,
    error,
    h('div', { class: 'permission-groups' }, fieldsets));
}

function usersPanel(role, canManage, say) {
  const rows = h('ul', { class: 'role-users', testid: 'role-users' });
  const count = h('span', { class: 'counter', testid: 'role-users-count' });
  const error = errorBox('role-users-error');
  const select = h('select', { testid: 'role-users-add-select' });
  const add = h('button', { type: 'submit', class: 'btn', testid: 'role-users-add-submit' }, 'Add to role');
  const change = async (method, userId) => {
    error.clear();
    try {
      await request(method, rolePath(role.id, '/users'), { body: linkBody('users', userId), action: 'change role members' });
      say(method === 'POST' ? 'User added to the role.' : 'User removed from the role.');
    } catch (err) {
      error.show(errorMessage(err));
    }
    await refresh();
  };
  const refresh = async () => {
    try {
      const [members, everyone] = await Promise.all([
        request('GET', rolePath(role.id, '/users'), { query: { 'page[size]': 100 }, action: 'view role members' }),
        canManage ? request('GET', '/api/v2/users', { query: { 'page[size]': 100, filter: undefined }, action: 'view users' }) : null,
      ]);
      const inRole = new Set((members.data || []).map((u) => u.id));
      const total = pageCounts(members).total ?? inRole.size;
      count.textContent = `${total} ${total === 1 ? 'member' : 'members'}`;
      count.dataset.count = String(total);
      rows.replaceChildren(...(members.data || []).map((user) => h('li', { class: 'role-user', testid: 'role-user-row', dataset: { id: user.id } },
        h('span', {}, user.attributes.name || user.attributes.email, ' ', h('span', { class: 'muted' }, user.attributes.email || '')),
        canManage ? actionButton('role-user-remove', 'Remove', () => change('DELETE', user.id), { danger: true, ariaLabel: `Remove ${user.attributes.email} from the role` }) : null)));
      if (!inRole.size) rows.append(h('li', { class: 'muted', testid: 'role-users-empty' }, 'No one has this role.'));
      if (everyone) {
        const candidates = (everyone.data || []).filter((u) => !inRole.has(u.id) && !u.attributes.disabled);
        select.replaceChildren(...candidates.map((u) => h('option', { value: u.id }, u.attributes.email || u.attributes.name || u.id)));
        add.disabled = candidates.length === 0;
      }
    } catch (err) {
      error.show(errorMessage(err));
    }
  };
  const form = h('form', { class: 'create-form', testid: 'role-users-add', novalidate: true },
    h('div', { class: 'create-fields' }, field({ label: 'User or service account', input: select }).wrap, h('div', { class: 'create-submit' }, add)));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (select.value) change('POST', select.value);
  });
  refresh();
  return h('section', { class: 'panel', testid: 'role-members', 'aria-label': 'Members' },
    h('div', { class: 'panel-head' }, h('h2', {}, 'Members'), count),
    canManage ? form : null, error, rows);
}
