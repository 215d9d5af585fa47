// keyplane console: the Audit Trail page: who did what to which key, token or user, from
// where and when, newest first, with filters. Read-only; needs audit_logs_read.

import { request, errorMessage, pageCounts, ApiError } from './api.js';
import { h, field, userLabel } from './dom.js';
import { ListView } from './list.js';
import { pageHeader } from './key_parts.js';

const ACTION_GROUPS = [
  ['API keys', [
    ['api_key.create', 'API key created'],
    ['api_key.update', 'API key renamed'],
    ['api_key.revoke', 'API key revoked'],
    ['api_key.rotate', 'API key rotated'],
  ]],
  ['Application keys', [
    ['application_key.create', 'Application key created'],
    ['application_key.update', 'Application key changed'],
    ['application_key.revoke', 'Application key revoked'],
    ['application_key.rotate', 'Application key rotated'],
  ]],
  ['Client tokens', [
    ['client_token.create', 'Client token created'],
    ['client_token.update', 'Client token renamed'],
    ['client_token.revoke', 'Client token revoked'],
    ['client_token.rotate', 'Client token rotated'],
  ]],
  ['Access tokens', [
    ['access_token.create', 'Access token created'],
    ['access_token.update', 'Access token changed'],
    ['access_token.revoke', 'Access token revoked'],
  ]],
  ['Leaked credentials', [
    ['credential.leak_flag', 'Reported leaked (flagged)'],
    ['credential.leak_revoke', 'Reported leaked (revoked)'],
    ['credential.leak_flag_last_key', 'Reported leaked (last API key: flagged, not revoked)'],
    ['credential.expiring_soon', 'Expires within 7 days'],
    ['credential.expired', 'Expired'],
  ]],
  ['Users', [
    ['user.create', 'User created'],
    ['user.update', 'User changed'],
    ['user.disable', 'User disabled'],
    ['user.password_set', 'Password set'],
  ]],
  ['Sign-in', [
    ['session.sign_in', 'Signed in to the console'],
    ['auth.failure_burst', 'Many failed authentications'],
  ]],
];
const ACTION_LABELS = new Map(ACTION_GROUPS.flatMap(([, actions]) => actions));
const CLI_ACTOR = 'keyplane admin (CLI)';
const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;
const KEY_HELP = 'Enter the full ID of a key, token or user (36 characters, such as 3f2a9c1e-0b7d-4c52-9a61-5d2e8f7b1c40), or clear the field.';

function actionLabel(action) {
  return ACTION_LABELS.get(action) || action || 'Unknown action';
}

function shortId(id) {
  return id.length > 8 ? `${id.slice(0, 8)}…` : id;
}

// ---- cells ----

const dayFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });
const clockFormat = new Intl.DateTimeFormat(undefined, { timeStyle: 'medium' });

/** Local date and time to the second; the exact UTC time in the title. */
function timeCell(iso) {
  const date = new Date(iso);
  if (!iso || Number.isNaN(date.getTime())) return h('span', { class: 'muted' }, iso || '—');
  return h('time', { datetime: date.toISOString(), title: iso },
    h('span', { class: 'date-day' }, dayFormat.format(date)), ' ',
    h('span', { class: 'date-clock' }, clockFormat.format(date)));
}

function actorCell(id, users) {
  if (!id) return h('span', { class: 'person' }, h('span', { class: 'person-name' }, CLI_ACTOR));
  const user = users.get(id);
  if (user) return userLabel(user);
  return h('span', { class: 'person', title: id },
    h('span', { class: 'muted' }, 'Unknown user'),
    h('span', { class: 'mono' }, shortId(id)));
}

/** The target's short id as a button that shows only its events (and the user's name, if it is one). */
function targetCell(id, users, onFilter) {
  if (!id) return h('span', { class: 'muted' }, '—');
  const user = users.get(id);
  const name = user && user.attributes && (user.attributes.name || user.attributes.email);
  return h('span', { class: 'target' },
    h('button', {
      type: 'button',
      class: 'id-button mono',
      testid: 'row-target',
      title: id,
      'aria-label': `${shortId(id)} (${id}): show only events for this target`,
      onclick: () => onFilter(id),
    }, shortId(id)),
    name ? h('span', { class: 'target-name' }, name) : null);
}

function sourceCell(source) {
  if (!source) return h('span', { class: 'muted' }, '—');
  if (source === 'cli') return h('span', { title: 'keyplane admin on the server' }, 'CLI');
  return h('span', { class: 'mono break' }, source);
}

// ---- filters ----

/** The datetime-local value as RFC 3339; `end` covers the whole minute (or second) chosen. */
function toRfc3339(value, end) {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return null;
  const extra = end ? (value.length > 16 ? 999 : 59_999) : 0;
  return new Date(date.getTime() + extra).toISOString();
}

/** The API's 400 answers, in the words of the form. */
function plainFilterError(err) {
  if (!(err instanceof ApiError) || err.status !== 400) return err;
  const text = err.messages.join(' ');
  const rules = [
    ['filter[from]', 'The “From” date and time could not be read. Pick them again, or clear the field.'],
    ['filter[to]', 'The “To” date and time could not be read. Pick them again, or clear the field.'],
    ['filter[actor]', 'The chosen actor is not a known user. Reload the page and choose again.'],
    ['filter[key]', KEY_HELP],
    ['Unknown action', 'keyplane does not record that action. Choose one from the list.'],
    ['page[', 'That page of events does not exist. Clear the filters to start again.'],
  ];
  const rule = rules.find(([needle]) => text.includes(needle));
  const message = rule ? rule[1] : `keyplane could not use these filters: ${text || 'the request was refused'}.`;
  return new ApiError('http', message, 400, err.messages);
}

function actorName(user) {
  const a = user.attributes || {};
  const base = a.name && a.email && a.name !== a.email ? `${a.name} (${a.email})` : a.name || a.email || user.id;
  return a.service_account ? `${base}, service account` : base;
}

function filterForm({ onApply, onClear }) {
  const action = h('select', { name: 'action', testid: 'audit-filter-action' },
    h('option', { value: '' }, 'All actions'),
    ACTION_GROUPS.map(([label, actions]) => h('optgroup', { label },
      actions.map(([value, text]) => h('option', { value }, text)))));
  const actor = h('select', { name: 'actor', testid: 'audit-filter-actor' }, h('option', { value: '' }, 'Anyone'));
  const from = h('input', { type: 'datetime-local', name: 'from', testid: 'audit-filter-from' });
  const to = h('input', { type: 'datetime-local', name: 'to', testid: 'audit-filter-to' });
  const key = h('input', { type: 'text', name: 'key', class: 'mono', testid: 'audit-filter-key', autocomplete: 'off', spellcheck: 'false', maxlength: '45', placeholder: 'Full ID of a key, token or user' });
  const apply = h('button', { type: 'submit', class: 'btn btn-primary', testid: 'audit-filter-apply' }, 'Apply filters');
  const clear = h('button', { type: 'button', class: 'btn', testid: 'audit-filter-clear' }, 'Clear');
  const keyField = field({ label: 'Key, token or user ID', input: key }).wrap;
  keyField.classList.add('field-wide');
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const actorNote = h('p', { class: 'hint', testid: 'audit-actors-error', hidden: true });
  const form = h('form', { class: 'audit-filters', testid: 'audit-filters', role: 'search', 'aria-label': 'Filter events', novalidate: true },
    h('div', { class: 'filter-fields' },
      field({ label: 'Action', input: action }).wrap,
      field({ label: 'Actor', input: actor }).wrap,
      field({ label: 'From', input: from }).wrap,
      field({ label: 'To', input: to }).wrap,
      keyField,
      h('div', { class: 'filter-buttons' }, apply, clear)),
    h('p', { class: 'hint' }, `Times are in your time zone${zone ? ` (${zone})` : ''}; “To” includes the minute chosen.`),
    actorNote);
  const inputs = [action, actor, from, to, key];

  /** The form's values for the API, or { error, input } when one cannot be used. */
  function read() {
    for (const [input, label] of [[from, 'From'], [to, 'To']]) {
      if (input.validity.badInput) return { error: `Enter a complete date and time in “${label}”, or clear it.`, input };
    }
    const values = {
      action: action.value,
      actor: actor.value,
      from: from.value ? toRfc3339(from.value, false) : '',
      to: to.value ? toRfc3339(to.value, true) : '',
      key: key.value.trim().replace(/^\{|\}$/g, ''),
    };
    if (values.from === null) return { error: 'Enter a complete date and time in “From”, or clear it.', input: from };
    if (values.to === null) return { error: 'Enter a complete date and time in “To”, or clear it.', input: to };
    if (values.from && values.to && values.from > values.to) return { error: '“From” must be earlier than “To”.', input: from };
    if (values.key && !UUID.test(values.key)) return { error: KEY_HELP, input: key };
    return { values };
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    for (const input of inputs) input.removeAttribute('aria-invalid');
    const { values, error, input } = read();
    if (error) input.setAttribute('aria-invalid', 'true');
    onApply(values, error, input);
  });
  clear.addEventListener('click', () => {
    for (const input of inputs) {
      input.value = '';
      input.removeAttribute('aria-invalid');
    }
    onClear();
  });

  return {
    form,
    setKey(id) {
      key.value = id;
      form.requestSubmit();
      key.focus();
    },
    setUsers(users) {
      const sorted = [...users.values()].sort((a, b) => actorName(a).localeCompare(actorName(b)));
      actor.append(...sorted.map((user) => h('option', { value: user.id }, actorName(user))));
    },
    usersFailed(message) {
      actorNote.textContent = `Names of actors could not be loaded, so they are shown by ID: ${message}`;
      actorNote.hidden = false;
    },
  };
}

// ---- page ----

export function auditPage() {
  let applied = { action: '', actor: '', from: '', to: '', key: '' };
  const filtered = () => Object.values(applied).some(Boolean);
  const counter = h('span', { class: 'counter', testid: 'audit-count', 'aria-live': 'polite' });
  let list = null;

  const filters = filterForm({
    onApply: (values, error, input) => {
      if (error) {
        list.error.show(error);
        input.focus();
        return;
      }
      applied = values;
      list.goTo(0);
    },
    onClear: () => {
      applied = { action: '', actor: '', from: '', to: '', key: '' };
      list.goTo(0);
    },
  });

  // Users and service accounts, fetched once, to name the actors.
  const usersPromise = request('GET', '/api/v2/users', { query: { 'page[size]': 1000 }, action: 'view users' })
    .then((doc) => {
      const users = new Map((doc.data || []).map((user) => [user.id, user]));
      filters.setUsers(users);
      return users;
    })
    .catch((error) => {
      filters.usersFailed(errorMessage(error));
      return new Map();
    });

  list = new ListView({
    prefix: 'audit',
    title: 'Events',
    headerExtra: counter,
    noun: ['event', 'events'],
    toolbar: filters.form,
    pageSizes: [25, 50, 100],
    columns: [
      { id: 'time', label: 'Time', cell: (item) => timeCell(item.attributes.timestamp) },
      { id: 'action', label: 'Action', primary: true, cell: (item) => actionLabel(item.attributes.action) },
      { id: 'actor', label: 'Actor', cell: (item, row) => actorCell(item.attributes.actor_id, row.context.users) },
      { id: 'target', label: 'Target', cell: (item, row) => targetCell(item.attributes.target_id, row.context.users, (id) => filters.setKey(id)) },
      { id: 'source', label: 'Source', cell: (item) => sourceCell(item.attributes.source) },
    ],
    rowData: (item) => ({ action: item.attributes.action || '' }),
    emptyText: () => (filtered() ? 'No events match these filters.' : 'No events have been recorded yet.'),
    load: async ({ page, size, signal }) => {
      const query = {
        'page[size]': size,
        'page[number]': page,
        'filter[action]': applied.action,
        'filter[actor]': applied.actor,
        'filter[from]': applied.from,
        'filter[to]': applied.to,
        'filter[key]': applied.key,
      };
      const [doc, users] = await Promise.all([
        request('GET', '/api/v2/audit/events', { query, action: 'view the audit trail', signal })
          .catch((err) => { throw plainFilterError(err); }),
        usersPromise,
      ]);
      return { items: doc.data || [], ...pageCounts(doc), context: { users } };
    },
    onLoad: (result) => {
      const n = result.filtered;
      counter.textContent = `${n} ${filtered() ? 'matching ' : ''}${n === 1 ? 'event' : 'events'}`;
      counter.dataset.count = String(n);
    },
  });

  const el = h('div', { class: 'page audit-page', testid: 'audit-page' },
    pageHeader('Audit Trail', 'Every change to this organization’s keys, tokens and users, and every console sign-in: who did it, from where and when, newest first. Records are chained by hash, so editing or removing one is detectable with keyplane audit verify.'),
    list.el);
  list.reload();
  return { el, title: 'Audit Trail', destroy: () => list.destroy() };
}
