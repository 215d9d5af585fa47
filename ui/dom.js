// keyplane console: DOM helpers. Everything is built with createElement/textContent:
// names and emails are user input and never go through innerHTML.

const BOOLEAN_PROPS = new Set(['hidden', 'disabled', 'checked', 'readOnly', 'required', 'selected', 'multiple', 'autofocus']);

/**
 * h('button', { class: 'btn', testid: 'x', type: 'button', onclick: fn }, 'Label')
 * props: class, testid (→ data-testid), text, on<event> handlers, value, boolean props,
 * dataset (object), anything else as an attribute (null/false/undefined are skipped).
 */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null) continue;
    if (key === 'class') el.className = value;
    else if (key === 'testid') el.setAttribute('data-testid', value);
    else if (key === 'text') el.textContent = value;
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2).toLowerCase(), value);
    else if (BOOLEAN_PROPS.has(key)) el[key] = Boolean(value);
    else if (key === 'value') el.value = value;
    else if (key === 'colSpan') el.colSpan = value;
    else if (value === false) continue;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.append(child);
    else el.append(document.createTextNode(String(child)));
  }
}

let idCounter = 0;
export function uid(prefix = 'kp') {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}

/** A labelled field: returns { wrap, input, hint }. */
export function field({ label, input, hint, testid }) {
  const id = input.id || uid('field');
  input.id = id;
  let hintEl = null;
  if (hint) {
    hintEl = h('p', { class: 'hint', id: `${id}-hint` }, hint);
    input.setAttribute('aria-describedby', hintEl.id);
  }
  const wrap = h('div', { class: 'field', testid }, h('label', { for: id }, label), input, hintEl);
  return { wrap, input, hint: hintEl };
}

/** An element that shows an error message (role=alert), hidden while empty. */
export function errorBox(testid, extraClass = '') {
  const el = h('div', { class: `error-box ${extraClass}`.trim(), testid, role: 'alert', hidden: true });
  el.show = (message) => {
    el.textContent = message || '';
    el.hidden = !message;
  };
  el.clear = () => el.show('');
  return el;
}

/** Put a button into its pending state ("Creating…", spinner, disabled) and back. */
export function setBusy(button, busy, busyLabel) {
  if (busy) {
    if (!button.dataset.idleLabel) button.dataset.idleLabel = button.textContent;
    button.disabled = true;
    button.setAttribute('aria-busy', 'true');
    button.replaceChildren(h('span', { class: 'spinner', 'aria-hidden': 'true' }), busyLabel || button.dataset.idleLabel);
  } else {
    button.disabled = false;
    button.removeAttribute('aria-busy');
    if (button.dataset.idleLabel) button.textContent = button.dataset.idleLabel;
    delete button.dataset.idleLabel;
  }
}

// ---- dates ----

const dayFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });
const clockFormat = new Intl.DateTimeFormat(undefined, { timeStyle: 'short' });

/** <time datetime="ISO" title="ISO">local date</time>, or "Never"/"—" when absent. */
export function timeEl(iso, missing = '—') {
  if (!iso) return h('span', { class: 'muted' }, missing);
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return h('span', {}, String(iso));
  return h('time', { datetime: iso, title: iso },
    h('span', { class: 'date-day' }, dayFormat.format(date)), ' ',
    h('span', { class: 'date-clock' }, clockFormat.format(date)));
}

// ---- people ----

/** A user's display: name (or email) with the email under it. */
export function userLabel(user) {
  if (!user) return h('span', { class: 'muted' }, '—');
  const attrs = user.attributes || {};
  const name = attrs.name || attrs.email || attrs.handle;
  if (!name) return h('span', { class: 'muted', title: user.id }, 'Unknown user');
  const parts = [h('span', { class: 'person-name' }, name)];
  if (attrs.email && attrs.email !== name) parts.push(h('span', { class: 'person-email' }, attrs.email));
  if (attrs.service_account) parts.push(h('span', { class: 'badge badge-neutral' }, 'Service account'));
  return h('span', { class: 'person', title: attrs.email || name }, parts);
}

// ---- copy to clipboard ----

async function copyText(text, input) {
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch {
      // fall through to the selection fallback
    }
  }
  let target = input;
  let temporary = false;
  if (!target) {
    target = h('input', { type: 'text', readOnly: true, value: text, class: 'copy-helper', 'aria-hidden': 'true', tabindex: '-1' });
    document.body.append(target);
    temporary = true;
  }
  const active = document.activeElement;
  target.focus();
  target.select();
  try {
    target.setSelectionRange(0, text.length);
  } catch {
    // some input types refuse selection ranges
  }
  let ok = false;
  try {
    ok = document.execCommand('copy');
  } catch {
    ok = false;
  }
  if (temporary) target.remove();
  if (active && active instanceof HTMLElement && active.isConnected) active.focus();
  return ok;
}

/**
 * A readonly input holding `value`, a Copy button and its feedback:
 * data-testid secret-value / copy-button / copy-feedback.
 */
export function copyField(value, { label = 'Value', valueTestid = 'secret-value', monospace = true, asText = false } = {}) {
  const input = asText ? null : h('input', {
    type: 'text',
    readOnly: true,
    value,
    class: monospace ? 'copy-input mono' : 'copy-input',
    testid: valueTestid,
    'aria-label': label,
    spellcheck: 'false',
    autocomplete: 'off',
  });
  if (input) input.addEventListener('focus', () => input.select());
  const shown = input || h('code', { class: 'copy-code', testid: valueTestid }, value);
  const feedback = h('span', { class: 'copy-feedback', testid: 'copy-feedback', role: 'status', 'aria-live': 'polite' });
  let timer = 0;
  const button = h('button', {
    type: 'button',
    class: 'btn btn-small',
    testid: 'copy-button',
    'aria-label': `Copy ${label.toLowerCase()}`,
    onclick: async () => {
      const ok = await copyText(value, input);
      clearTimeout(timer);
      feedback.classList.toggle('copy-failed', !ok);
      if (ok) {
        feedback.textContent = 'Copied';
        timer = setTimeout(() => {
          feedback.textContent = '';
        }, 5000);
      } else {
        if (input) {
          input.focus();
          input.select();
        } else {
          const range = document.createRange();
          range.selectNodeContents(shown);
          const selection = window.getSelection();
          selection.removeAllRanges();
          selection.addRange(range);
        }
        feedback.textContent = 'Copy failed: the text is selected, press Ctrl+C (⌘C on a Mac).';
      }
    },
  }, 'Copy');
  return h('div', { class: 'copy-field' }, shown, button, feedback);
}

/**
 * A panel that shows a secret (or token) with a copy button.
 * testid on the panel; inside: secret-value, copy-button, copy-feedback, secret-dismiss.
 */
export function secretPanel({ testid, title, warning, value, label, dismissLabel = 'Done', onDismiss, tone = 'warning' }) {
  const heading = h('h3', { class: 'secret-title', tabindex: '-1' }, title);
  const panel = h(
    'div',
    { class: `secret-panel secret-${tone}`, testid, role: 'region', 'aria-label': title },
    heading,
    warning ? h('p', { class: 'secret-warning' }, warning) : null,
    copyField(value, { label }),
    h('div', { class: 'secret-actions' },
      h('button', { type: 'button', class: 'btn', testid: 'secret-dismiss', onclick: () => onDismiss && onDismiss() }, dismissLabel)),
  );
  panel.focusHeading = () => heading.focus();
  return panel;
}

// ---- dialogs ----

/**
 * A modal <dialog> (showModal; Escape and Cancel close it). `action` runs on confirm; while
 * it runs the buttons are disabled; if it throws, its message appears in confirm-error next
 * to the button and the dialog stays open. Resolves with the action's result, or undefined
 * when cancelled. Inside: confirm-title, confirm-message, confirm-error, confirm-cancel, confirm-ok.
 */
export function openDialog({ testid = 'confirm-dialog', title, message, body = [], confirmLabel = 'Confirm', busyLabel, danger = false, action, errorText }) {
  return new Promise((resolve) => {
    const opener = document.activeElement;
    const titleId = uid('dialog-title');
    const messageId = uid('dialog-message');
    const error = errorBox('confirm-error');
    const cancel = h('button', { type: 'button', class: 'btn', testid: 'confirm-cancel' }, 'Cancel');
    const ok = h('button', { type: 'submit', class: danger ? 'btn btn-danger' : 'btn btn-primary', testid: 'confirm-ok' }, confirmLabel);
    const paragraphs = (Array.isArray(message) ? message : [message]).filter(Boolean).map((m) => (m instanceof Node ? m : h('p', {}, m)));
    const form = h('form', { class: 'dialog-form', method: 'dialog', novalidate: true },
      h('h2', { id: titleId, class: 'dialog-title', testid: 'confirm-title' }, title),
      h('div', { id: messageId, class: 'dialog-message', testid: 'confirm-message' }, paragraphs),
      body,
      error,
      h('div', { class: 'dialog-buttons' }, cancel, ok),
    );
    const dialog = h('dialog', { class: 'dialog', testid, 'aria-labelledby': titleId, 'aria-describedby': messageId }, form);
    let pending = false;
    let result;
    const close = () => {
      if (dialog.open) dialog.close();
    };
    dialog.addEventListener('cancel', (event) => {
      if (pending) event.preventDefault();
    });
    dialog.addEventListener('close', () => {
      dialog.remove();
      if (opener && opener instanceof HTMLElement && opener.isConnected) opener.focus();
      resolve(result);
    });
    cancel.addEventListener('click', () => {
      if (!pending) close();
    });
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      if (pending) return;
      error.clear();
      pending = true;
      cancel.disabled = true;
      setBusy(ok, true, busyLabel);
      try {
        const value = action ? await action() : true;
        // A 204 answer is null: the action still succeeded.
        result = value === undefined || value === null ? true : value;
        pending = false;
        close();
      } catch (err) {
        pending = false;
        cancel.disabled = false;
        setBusy(ok, false);
        if (dialog.open) {
          error.show(errorText ? errorText(err) : String(err && err.message ? err.message : err));
          ok.focus();
        }
      }
    });
    document.body.append(dialog);
    dialog.showModal();
    const first = form.querySelector('input, textarea, select');
    (first || (danger ? cancel : ok)).focus();
  });
}

/** Move focus to an element that is not normally focusable (headings, regions). */
export function focusQuietly(el) {
  if (!el) return;
  if (!el.hasAttribute('tabindex')) el.setAttribute('tabindex', '-1');
  el.focus({ preventScroll: false });
}
