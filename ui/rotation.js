// keyplane console: rotating a key (a new secret now, the old one kept for the overlap chosen)
// and watching the rollout (who still presents the old secret).

import { request, errorMessage } from './api.js';
import { h, field, timeEl, secretPanel, openDialog } from './dom.js';
import { actionButton } from './list.js';
import { capitalize } from './key_parts.js';

/** Overlaps a rotation may ask for, in seconds (the server caps them). */
export const GRACE_CHOICES = [
  [0, 'None: the current key stops at once'],
  [3600, '1 hour'],
  [86400, '1 day'],
  [604800, '7 days'],
];

/**
 * Rotate: a new secret for the key (same id, name, history); the current one keeps working
 * for the overlap chosen, so agents can switch before it stops.
 */
export function rotateButton(row, { noun, path, type }) {
  return actionButton('row-rotate', 'Rotate', async () => {
    row.clearError();
    const grace = h('select', { testid: 'rotate-grace' },
      GRACE_CHOICES.map(([seconds, label]) => h('option', { value: String(seconds), selected: seconds === 86400 }, label)));
    const doc = await openDialog({
      testid: 'confirm-dialog',
      title: `Rotate ${noun}?`,
      message: [
        h('p', {}, 'Give ', h('strong', {}, `“${row.name}”`), ' a new secret. Its id, name and history stay.'),
        'The current secret keeps working for the overlap below, then is refused everywhere: agents that refresh their secrets on a refusal pick up the new one.',
      ],
      body: [field({ label: 'Old secret keeps working for', input: grace }).wrap],
      confirmLabel: `Rotate ${noun}`,
      busyLabel: 'Rotating…',
      action: () => request('POST', `${path}/rotate`, {
        body: { data: { type, attributes: { grace_period_seconds: Number(grace.value) } } },
        action: `rotate ${noun}s`,
      }),
      errorText: errorMessage,
    });
    if (!doc) return;
    const until = doc.meta && doc.meta.previous_key_valid_until;
    const overlap = until && Date.parse(until) > Date.now()
      ? `The previous secret keeps working until ${new Date(until).toLocaleString()}.`
      : 'The previous secret no longer works.';
    const panel = secretPanel({
      testid: 'rotated-secret',
      title: `New secret of “${row.name}”`,
      warning: `Copy it now. ${overlap}`,
      value: (doc.data && doc.data.attributes && doc.data.attributes.key) || '',
      label: capitalize(noun),
      onDismiss: () => {
        row.hideDetail();
        row.focusAction('row-rotate');
      },
    });
    row.showDetail(panel);
    panel.querySelector('[data-testid="copy-button"]').focus();
    row.list.announce(`${capitalize(noun)} “${row.name}” was rotated.`);
  }, { ariaLabel: `Rotate ${noun} ${row.name}` });
}

/** Rollout: during a rotation's overlap, who still presents the previous secret. */
export function rolloutButton(row, { path }) {
  return actionButton('row-rollout', 'Rollout', async () => {
    row.clearError();
    let doc;
    try {
      doc = await request('GET', `${path}/rotation`, { action: 'view API keys' });
    } catch (err) {
      row.showError(errorMessage(err));
      return;
    }
    const attrs = (doc && doc.data && doc.data.attributes) || {};
    const close = h('button', { type: 'button', class: 'btn btn-small', testid: 'rollout-close', onclick: () => { row.hideDetail(); row.focusAction('row-rollout'); } }, 'Close');
    const previous = attrs.previous_secrets || [];
    const callers = attrs.callers || [];
    const content = [];
    if (!previous.length) {
      content.push(h('p', {}, 'No rotation in progress: only the current secret works.'));
    } else {
      content.push(h('p', {}, `The previous secret works until ${new Date(previous[0].valid_until).toLocaleString()}.`));
      content.push(callers.length
        ? h('table', { class: 'data-table', testid: 'rollout-callers' },
          h('thead', {}, h('tr', {}, ['Source', 'User-Agent', 'Hostname', 'First seen', 'Last seen', 'Requests'].map((t) => h('th', { scope: 'col' }, t)))),
          h('tbody', {}, callers.map((c) => h('tr', { testid: 'rollout-caller' },
            h('td', { class: 'mono' }, c.source || '—'),
            h('td', {}, c.user_agent || '—'),
            h('td', {}, c.hostname || '—'),
            h('td', {}, timeEl(c.first_seen)),
            h('td', {}, timeEl(c.last_seen)),
            h('td', {}, String(c.requests))))))
        : h('p', { testid: 'rollout-done' }, 'Nobody has presented the previous secret since the rotation.'));
    }
    const panel = h('div', { class: 'notice notice-info', testid: 'rollout', role: 'region', 'aria-label': `Rollout of ${row.name}` },
      h('h3', {}, `Rollout of “${row.name}”`), content, close);
    row.showDetail(panel);
    close.focus();
  }, { ariaLabel: `Rollout of ${row.name}` });
}
