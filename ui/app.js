// keyplane web console: entry point (ES module, no build step, no dependencies).
//
// Files: index.html, style.css, app.js (this: session, sign-in, shell, routing), api.js (fetch,
// CSRF, errors), dom.js (DOM helpers, copy, dialogs), list.js (paged/sorted/searchable lists,
// rename), keys.js (API Keys, Application Keys, Client Tokens), users.js (Users), roles.js
// (Roles and one role's page), tokens.js (Access Tokens), audit.js (Audit Trail), invite.js
// (accepting an invitation).
//
// Hash routes: #/sign-in, #/api-keys, #/application-keys, #/application-keys/all,
// #/access-tokens, #/client-tokens, #/users, #/users/<id>/access-tokens, #/roles, #/roles/<id>, #/audit ("#/" and "" go to the first
// section the user may see), #/invite/<secret> (invite.js: accepting an invitation, signed in
// or not).
//
// data-testid reference (stable; browser tests rely on them)
// ─ Shell: app-root, boot-loading, boot-error, boot-retry, skip-link, app-header, app-logo,
//   header-org, header-user, signout-button, signout-error, main-nav, nav-api-keys,
//   nav-application-keys, nav-access-tokens, nav-client-tokens, nav-users, nav-roles, nav-audit (only with
//   audit_logs_read), main, page-title, page-forbidden, page-not-found
// ─ Sign-in (#/sign-in): signin-page, signin-form, signin-email, signin-password,
//   signin-submit (text "Signing in…" and disabled while pending), signin-error, signin-notice
//   (e.g. "Your session has expired, sign in again.")
// ─ Dialogs (one at a time, appended to <body>, removed on close): confirm-dialog (revoke,
//   reveal, disable) or scopes-dialog (edit scopes); inside: confirm-title, confirm-message,
//   confirm-error, confirm-cancel, confirm-ok; scopes-dialog also has scopes-input.
// ─ Every list, with P = api-keys | my-app-keys | all-app-keys | client-tokens | users:
//   P-list (section, data-total = filtered count), P-search-form, P-search, P-sort-select
//   (narrow screens), P-sort-<field> (header buttons; their <th> carries aria-sort),
//   P-table, P-loading, P-empty, P-error, P-retry, P-status (success messages), P-pager,
//   P-prev, P-next, P-page-info ("Page X of Y"), P-page-size,
//   P-row (<tr> with data-id and data-name), P-row-detail (<tr> under it, data-id),
//   cells: cell-<column> (cell-name, cell-last4, cell-created-by, cell-created, cell-modified,
//   cell-last-used, cell-owner, cell-scopes, cell-token, cell-email, cell-type, cell-status,
//   cell-roles), inside cells: row-name, row-last4, row-scopes (data-scopes="all" or
//   "a,b"), row-email, row-type, row-status, row-roles, row-you, token-value;
//   row actions: row-rename, row-rotate (confirm-dialog with rotate-grace, then
//   rotated-secret in the row's detail), row-rollout (API keys: rollout, with rollout-callers /
//   rollout-caller rows or rollout-done), row-reveal, row-edit-scopes, row-revoke, row-disable, row-error;
//   inline rename: rename-form, rename-input, rename-save, rename-cancel, rename-error;
//   revealed key (in P-row-detail): revealed-secret or reveal-unavailable (One-Time Read),
//   with secret-value, copy-button, copy-feedback ("Copied"), secret-dismiss.
// ─ API Keys (#/api-keys): api-keys-page, api-keys-count ("N of M API keys", data-count,
//   data-max), api-keys-limit, api-keys-create-form, api-keys-create-name,
//   api-keys-create-submit, api-keys-create-error, api-keys-create-forbidden,
//   api-keys-new-secret (secret-value, copy-button, copy-feedback, secret-dismiss).
// ─ Application Keys (#/application-keys, #/application-keys/all): app-keys-page,
//   app-keys-tabs, app-keys-tab-mine, app-keys-tab-all (aria-current="page" on the open tab),
//   my-app-keys-panel, my-app-keys-count, my-app-keys-create-form, my-app-keys-create-name,
//   my-app-keys-create-scopes, my-app-keys-create-submit, my-app-keys-create-error,
//   my-app-keys-new-secret, all-app-keys-count.
// ─ Client Tokens (#/client-tokens): client-tokens-page, client-tokens-count,
//   client-tokens-create-form, client-tokens-create-name, client-tokens-create-submit,
//   client-tokens-create-error, client-tokens-create-forbidden, client-tokens-new-token;
//   each row's cell-token holds token-value, copy-button, copy-feedback.
// ─ Users (#/users): users-page, users-count, users-create, users-create-form,
//   users-create-kind, users-create-kind-user, users-create-kind-service-account,
//   users-create-email, users-create-name, users-create-roles,
//   users-create-role-<slug of role name> (e.g. users-create-role-datadog-admin-role),
//   users-create-roles-error, users-create-submit, users-create-error, users-create-success,
//   users-create-forbidden; row action row-edit-roles opens roles-dialog, whose checkboxes
//   are roles-dialog-role-<slug of role name>; row action row-invite (Pending users, with user_access_invite)
//   shows invite-link (secret-value holds the full link) in users-row-detail.
//   Service-account rows have row-access-tokens, to #/users/<id>/access-tokens.
// ─ Access Tokens (#/access-tokens, needs user_app_keys or org_app_keys_read):
//   access-tokens-page, access-tokens-create (access-tokens-create-form, -name, -scopes,
//   -owner (select: '' = personal, else a service account id), -expiry (days or 'never' for
//   service accounts), -submit, -error, access-tokens-new-token (secret-value: shown once));
//   the list parts with P = access-tokens; cells row-name, row-type, row-public, row-scopes,
//   row-expiry ("Expires in N days", warning under 7 days, "Expired", "Never expires");
//   action row-revoke.
// ─ A service account's tokens (#/users/<id>/access-tokens, from row-access-tokens on the
//   Users page): service-account-tokens-page (data-id), service-account-back, the create form
//   as above with the owner fixed to the account, and the list parts with P = access-tokens.
// ─ Roles (#/roles, needs user_access_read): roles-page, roles-create (with
//   user_access_manage: roles-create-form, roles-create-name, roles-create-opt-out,
//   roles-create-submit, roles-create-error) or roles-create-forbidden; the list parts with
//   P = roles; in rows row-name (row-open link, row-managed badge), row-user-count; actions
//   row-clone (dialog with clone-name) and, for custom roles, row-delete.
// ─ One role (#/roles/<id>): role-page (data-id), role-back, role-managed, role-status,
//   role-error, role-loading; role-rename-form (role-name, role-rename, role-rename-error) for
//   custom roles; role-permissions (role-permissions-count with data-count,
//   role-permissions-search, role-permissions-error, one checkbox role-permission-<name> per
//   permission, disabled on managed roles); role-members (role-users-count, role-users-add
//   with role-users-add-select and role-users-add-submit, role-users-error, role-users with
//   role-user-row (data-id) and role-user-remove, or role-users-empty).
// ─ Invitation (#/invite/<secret>): see invite.js.
// ─ Audit Trail (#/audit, needs audit_logs_read): audit-page, audit-count, audit-filters
//   (form), audit-filter-action, audit-filter-actor, audit-filter-from, audit-filter-to
//   (datetime-local, local time), audit-filter-key, audit-filter-apply, audit-filter-clear,
//   audit-actors-error (actor names could not be loaded); the list parts with P = audit
//   (audit-list, audit-table, audit-loading, audit-empty, audit-error (also the filters'
//   own errors), audit-retry, audit-pager, audit-prev, audit-next, audit-page-info,
//   audit-page-size; no search, no sort: newest first); audit-row (data-id = sequence
//   number, data-action = e.g. api_key.revoke) with cell-time (<time datetime>),
//   cell-action, cell-actor, cell-target (row-target: short id button, full id in its
//   title, shows only that target's events), cell-source.

import { request, setCsrfToken, setUnauthorizedHandler, errorMessage, EXPIRED } from './api.js';
import { h, field, errorBox, setBusy, focusQuietly } from './dom.js';
import { apiKeysPage } from './keys.js';
import { applicationKeysPage } from './app_keys.js';
import { clientTokensPage } from './client_tokens.js';
import { usersPage, forgetRoles } from './users.js';
import { auditPage } from './audit.js';
import { renderInvite } from './invite.js';
import { rolesPage } from './roles.js';
import { accessTokensPage, serviceAccountTokensPage } from './tokens.js';

const SECTIONS = [
  { path: '/api-keys', label: 'API Keys', what: 'API keys', testid: 'nav-api-keys', allowed: (can) => can('api_keys_read') },
  { path: '/application-keys', label: 'Application Keys', what: 'application keys', testid: 'nav-application-keys', allowed: (can) => can('user_app_keys') || can('org_app_keys_read') },
  { path: '/access-tokens', label: 'Access Tokens', what: 'access tokens', testid: 'nav-access-tokens', allowed: (can) => can('user_app_keys') || can('org_app_keys_read') },
  { path: '/client-tokens', label: 'Client Tokens', what: 'client tokens', testid: 'nav-client-tokens', allowed: (can) => can('client_tokens_read') },
  { path: '/users', label: 'Users', what: 'users', testid: 'nav-users', allowed: (can) => can('user_access_read') },
  { path: '/roles', label: 'Roles', what: 'roles', testid: 'nav-roles', allowed: (can) => can('user_access_read') },
  { path: '/audit', label: 'Audit Trail', what: 'the audit trail', testid: 'nav-audit', allowed: (can) => can('audit_logs_read') },
];

const root = document.getElementById('app');

const app = {
  session: null,
  page: null,
  afterSignIn: null,
  notice: '',
  can(permission) {
    const perms = this.session && this.session.user && this.session.user.permissions;
    return Array.isArray(perms) && perms.includes(permission);
  },
};

// ---- session ----

let expiryTimer = 0;

function setSession(session) {
  app.session = session;
  setCsrfToken(session ? session.csrf_token : null);
  if (!session) forgetRoles();
  scheduleExpiryCheck(session);
}

/** When the session's expires_at passes, ask the server and go to sign-in if it ended. */
function scheduleExpiryCheck(session) {
  clearTimeout(expiryTimer);
  const at = session && Date.parse(session.expires_at);
  if (!at || Number.isNaN(at)) return;
  const delay = Math.min(Math.max(at - Date.now() + 1000, 1000), 2 ** 31 - 1);
  expiryTimer = setTimeout(async () => {
    if (app.session !== session) return;
    try {
      const fresh = await request('GET', '/api/console/session', { action: 'use the console', allow401: true });
      if (app.session === session) setSession(fresh);
    } catch (err) {
      if (err && err.kind === 'unauthorized' && app.session === session) expire();
    }
  }, delay);
}

function expire() {
  if (!app.session) return;
  setSession(null);
  app.notice = EXPIRED;
  app.afterSignIn = currentPath();
  navigate('/sign-in', { replace: true });
}

setUnauthorizedHandler(expire);

// ---- routing ----

function currentPath() {
  const hash = window.location.hash.replace(/^#/, '');
  const path = hash.split('?')[0].replace(/\/+$/, '');
  return path || '/';
}

function navigate(path, { replace = false } = {}) {
  const target = `#${path}`;
  if (window.location.hash === target) {
    route();
  } else if (replace) {
    window.history.replaceState(null, '', target);
    route();
  } else {
    window.location.hash = target;
  }
}

function defaultPath() {
  const can = (p) => app.can(p);
  const first = SECTIONS.find((s) => s.allowed(can));
  return first ? first.path : '/api-keys';
}

function unmountPage() {
  if (app.page && app.page.destroy) app.page.destroy();
  app.page = null;
  // A dialog left open by the page (e.g. when the session expired under it) goes with it.
  for (const dialog of document.querySelectorAll('dialog[open]')) dialog.close();
}

function route() {
  const path = currentPath();
  if (path === '/invite' || path.startsWith('/invite/')) {
    unmountPage();
    shell = null;
    renderInvite(root, path.slice('/invite/'.length), {
      onSignedIn(session) {
        setSession(session);
        app.focusOnRoute = true;
        navigate(defaultPath(), { replace: true });
      },
    });
    return;
  }
  if (!app.session) {
    if (path !== '/sign-in') {
      if (path !== '/') app.afterSignIn = path;
      window.history.replaceState(null, '', '#/sign-in');
    }
    renderSignIn();
    return;
  }
  if (path === '/sign-in' || path === '/') {
    window.history.replaceState(null, '', `#${defaultPath()}`);
    route();
    return;
  }
  renderShell(path);
}

window.addEventListener('hashchange', route);

// ---- sign-in ----

function renderSignIn() {
  unmountPage();
  document.title = 'Sign in · keyplane';
  const notice = h('p', { class: 'notice notice-info', testid: 'signin-notice', role: 'status', hidden: !app.notice }, app.notice);
  const email = h('input', { type: 'email', name: 'email', testid: 'signin-email', autocomplete: 'username', required: true, spellcheck: 'false' });
  const password = h('input', { type: 'password', name: 'password', testid: 'signin-password', autocomplete: 'current-password', required: true });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-block', testid: 'signin-submit' }, 'Sign in');
  const error = errorBox('signin-error');
  const form = h('form', { class: 'signin-form', testid: 'signin-form', novalidate: true },
    field({ label: 'Email', input: email }).wrap,
    field({ label: 'Password', input: password }).wrap,
    error,
    submit);
  let pending = false;
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (pending) return;
    if (!email.value.trim() || !password.value) {
      error.show(!email.value.trim() ? 'Enter your email address.' : 'Enter your password.');
      (!email.value.trim() ? email : password).focus();
      return;
    }
    pending = true;
    error.clear();
    notice.hidden = true;
    setBusy(submit, true, 'Signing in…');
    try {
      const session = await request('POST', '/api/console/session', {
        body: { email: email.value.trim(), password: password.value },
        action: 'sign in',
        allow401: true,
      });
      setSession(session);
      app.notice = '';
      app.focusOnRoute = true;
      const next = app.afterSignIn && app.afterSignIn !== '/sign-in' ? app.afterSignIn : defaultPath();
      app.afterSignIn = null;
      navigate(next, { replace: true });
    } catch (err) {
      pending = false;
      setBusy(submit, false);
      error.show(err && err.kind === 'unauthorized' ? (err.messages.join(' ') || 'Wrong email or password') : errorMessage(err));
      password.value = '';
      password.focus();
    }
  });
  root.replaceChildren(
    h('main', { class: 'signin-page', testid: 'signin-page', id: 'main' },
      h('div', { class: 'signin-card' },
        h('p', { class: 'logo logo-large', testid: 'app-logo' }, 'keyplane'),
        h('h1', { class: 'signin-title' }, 'Sign in to the console'),
        notice,
        form)));
  email.focus();
}

// ---- shell ----

let shell = null;

function buildShell() {
  const signOutError = errorBox('signout-error', 'header-error');
  const signOut = h('button', { type: 'button', class: 'btn btn-small', testid: 'signout-button' }, 'Sign out');
  signOut.addEventListener('click', async () => {
    signOutError.clear();
    setBusy(signOut, true, 'Signing out…');
    try {
      await request('DELETE', '/api/console/session', { action: 'sign out', allow401: true });
    } catch (err) {
      if (!(err && err.kind === 'unauthorized')) {
        setBusy(signOut, false);
        signOutError.show(errorMessage(err));
        return;
      }
    }
    setSession(null);
    app.notice = 'You have signed out.';
    app.afterSignIn = null;
    shell = null;
    navigate('/sign-in', { replace: true });
  });
  const org = h('span', { class: 'header-org', testid: 'header-org' });
  const user = h('span', { class: 'header-user', testid: 'header-user' });
  const navList = h('ul', { class: 'nav-list' });
  const nav = h('nav', { class: 'main-nav', testid: 'main-nav', 'aria-label': 'Sections' }, navList);
  const main = h('main', { class: 'main', id: 'main', testid: 'main', tabindex: '-1' });
  const el = h('div', { class: 'shell' },
    h('a', { href: '#main', class: 'skip-link', testid: 'skip-link', onclick: (e) => { e.preventDefault(); focusQuietly(main.querySelector('h1') || main); } }, 'Skip to content'),
    h('header', { class: 'app-header', testid: 'app-header' },
      h('a', { href: '#/', class: 'logo', testid: 'app-logo', 'aria-label': 'keyplane console home' }, 'keyplane'),
      h('div', { class: 'header-meta' },
        h('div', { class: 'header-who' }, org, user),
        signOut),
      signOutError),
    h('div', { class: 'body' }, nav, main));
  return { el, org, user, navList, main, signOut };
}

function renderShell(path) {
  unmountPage();
  if (!shell || !root.contains(shell.el)) {
    shell = buildShell();
    root.replaceChildren(shell.el);
  }
  const { session } = app;
  shell.org.textContent = (session.org && session.org.name) || 'Organization';
  shell.org.title = 'Organization';
  shell.user.textContent = (session.user && session.user.email) || '';
  shell.user.title = (session.user && (session.user.name || session.user.email)) || '';

  const can = (p) => app.can(p);
  const sectionPath = ['/application-keys', '/roles', '/users'].find((p) => path.startsWith(`${p}/`)) || path;
  shell.navList.replaceChildren(...SECTIONS.filter((s) => s.allowed(can)).map((s) =>
    h('li', {}, h('a', {
      href: `#${s.path}`,
      class: 'nav-link',
      testid: s.testid,
      'aria-current': s.path === sectionPath ? 'page' : undefined,
    }, s.label))));

  const section = SECTIONS.find((s) => s.path === sectionPath);
  let page;
  if (!section) {
    page = {
      title: 'Not found',
      el: h('div', { class: 'page', testid: 'page-not-found' },
        h('h1', { class: 'page-title', testid: 'page-title', tabindex: '-1' }, 'Page not found'),
        h('p', {}, 'There is nothing at this address. ', h('a', { href: `#${defaultPath()}` }, 'Go to the console’s first section.'))),
    };
  } else if (!section.allowed(can)) {
    page = {
      title: section.label,
      el: h('div', { class: 'page' },
        h('h1', { class: 'page-title', testid: 'page-title', tabindex: '-1' }, section.label),
        h('p', { class: 'notice', testid: 'page-forbidden' }, `You don’t have permission to view ${section.what}.`)),
    };
  } else if (section.path === '/api-keys') {
    page = apiKeysPage(app);
  } else if (section.path === '/application-keys') {
    const tab = path === '/application-keys/all' ? 'all' : path === '/application-keys' ? null : 'missing';
    page = tab === 'missing' ? null : applicationKeysPage(app, tab);
    if (!page) {
      navigate('/application-keys', { replace: true });
      return;
    }
  } else if (section.path === '/access-tokens') {
    page = accessTokensPage(app);
  } else if (section.path === '/client-tokens') {
    page = clientTokensPage(app);
  } else if (section.path === '/audit') {
    page = auditPage(app);
  } else if (section.path === '/roles') {
    page = rolesPage(app, path.startsWith('/roles/') ? decodeURIComponent(path.slice('/roles/'.length)) : null);
  } else if (path.startsWith('/users/') && path.endsWith('/access-tokens')) {
    page = serviceAccountTokensPage(app, decodeURIComponent(path.slice('/users/'.length, -'/access-tokens'.length)));
  } else {
    page = usersPage(app);
  }
  app.page = page;
  document.title = `${page.title} · keyplane`;
  shell.main.replaceChildren(page.el);
  const heading = shell.main.querySelector('h1');
  if (heading && app.focusOnRoute) focusQuietly(heading);
  app.focusOnRoute = true;
}

// ---- start ----

async function boot() {
  root.replaceChildren(h('p', { class: 'boot', testid: 'boot-loading' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), 'Loading keyplane…'));
  try {
    const session = await request('GET', '/api/console/session', { action: 'use the console', allow401: true });
    setSession(session);
  } catch (err) {
    if (!(err && err.kind === 'unauthorized')) {
      const retry = h('button', { type: 'button', class: 'btn btn-primary', testid: 'boot-retry', onclick: boot }, 'Try again');
      root.replaceChildren(h('main', { class: 'boot', id: 'main' },
        h('p', { class: 'logo logo-large' }, 'keyplane'),
        h('p', { class: 'error-box', testid: 'boot-error', role: 'alert' }, errorMessage(err)),
        retry));
      retry.focus();
      return;
    }
    setSession(null);
  }
  app.focusOnRoute = false;
  route();
}

boot();
