// keyplane console: a paged, searchable, sortable list that is a table on wide screens and
// stacked cards on narrow ones. Row actions (rename, reveal, revoke…) are built by the pages
// with the helpers at the end of this file.

import { errorMessage, isAbort } from './api.js';
import { h, errorBox, setBusy, focusQuietly, uid } from './dom.js';

const SEARCH_DELAY_MS = 300;

/**
 * new ListView({
 *   prefix: 'api-keys',              // data-testid prefix of the list's parts
 *   title: 'API keys',               // heading of the list (h2) and table caption
 *   noun: ['API key', 'API keys'],
 *   searchLabel: 'Search API keys by name',
 *   columns: [{ id, label, sort?: 'name', cell(item, row) → Node|string, primary?: true }],
 *   sorts: extra sort options for the narrow-screen select [{ value, label }] (defaults to columns),
 *   defaultSort: 'name', pageSizes: [10, 25, 50, 100], pageSize: 10,
 *   load({ page, size, sort, filter, signal }) → { items, filtered, total?, context? },
 *   actions(item, row) → [Node] (row actions; omit for none),
 *   onLoad(result, state), emptyText(filter) → string,
 *   toolbar: Node shown instead of the search box and sort select (a page's own filters),
 *   rowData(item) → { key: value } extra data-* attributes of each row,
 * })
 */
export class ListView {
  constructor(cfg) {
    this.cfg = cfg;
    this.state = {
      page: 0,
      size: cfg.pageSize || (cfg.pageSizes ? cfg.pageSizes[0] : 10),
      sort: cfg.defaultSort || '',
      filter: '',
    };
    this.seq = 0;
    this.controller = null;
    this.searchTimer = 0;
    this.result = null;
    this.rows = [];
    this.build();
  }

  // ---- building ----

  build() {
    const { prefix, title, columns } = this.cfg;
    const headingId = uid('list-title');
    this.heading = h('h2', { id: headingId, class: 'list-title', tabindex: '-1' }, title);

    this.search = h('input', {
      type: 'search',
      id: uid('search'),
      class: 'search-input',
      testid: `${prefix}-search`,
      autocomplete: 'off',
      spellcheck: 'false',
      placeholder: this.cfg.placeholder || 'Filter by name',
    });
    this.search.addEventListener('input', () => {
      clearTimeout(this.searchTimer);
      this.searchTimer = setTimeout(() => this.applyFilter(), SEARCH_DELAY_MS);
    });
    this.search.addEventListener('keydown', (event) => {
      if (event.key === 'Escape' && this.search.value) {
        event.preventDefault();
        this.search.value = '';
        this.applyFilter();
      }
    });
    const searchForm = h('form', { class: 'search-form', role: 'search', testid: `${prefix}-search-form`, onsubmit: (e) => { e.preventDefault(); this.applyFilter(); } },
      h('label', { for: this.search.id, class: 'field-label' }, this.cfg.searchLabel || 'Search'),
      this.search);

    // Sorting on narrow screens, where the table headers are hidden.
    const sortOptions = [];
    const sortable = this.cfg.sorts || columns.filter((c) => c.sort).map((c) => ({ value: c.sort, label: c.label, kind: c.sortKind }));
    for (const option of sortable) {
      const [up, down] = option.kind === 'date' ? ['oldest first', 'newest first'] : ['A to Z', 'Z to A'];
      sortOptions.push(h('option', { value: option.value }, `${option.label}, ${up}`));
      sortOptions.push(h('option', { value: `-${option.value}` }, `${option.label}, ${down}`));
    }
    this.sortSelect = h('select', { id: uid('sort'), testid: `${prefix}-sort-select` }, sortOptions);
    this.sortSelect.addEventListener('change', () => this.setSort(this.sortSelect.value));
    const sortField = h('div', { class: 'sort-field narrow-only' },
      h('label', { for: this.sortSelect.id, class: 'field-label' }, 'Sort by'), this.sortSelect);

    this.status = h('p', { class: 'list-status', testid: `${prefix}-status`, role: 'status', 'aria-live': 'polite' });
    this.error = errorBox(`${prefix}-error`);
    this.retry = h('button', { type: 'button', class: 'btn btn-small', testid: `${prefix}-retry`, hidden: true, onclick: () => this.reload() }, 'Try again');

    this.headerButtons = new Map();
    const headCells = columns.map((column) => {
      const th = h('th', { scope: 'col', class: column.class ? `col-${column.id} ${column.class}` : `col-${column.id}` });
      if (column.sort) {
        const indicator = h('span', { class: 'sort-indicator', 'aria-hidden': 'true' });
        const button = h('button', {
          type: 'button',
          class: 'sort-button',
          testid: `${prefix}-sort-${column.sort}`,
          onclick: () => this.toggleSort(column.sort),
        }, column.label, indicator);
        th.append(button);
        this.headerButtons.set(column.sort, { th, button, indicator });
      } else {
        th.textContent = column.label;
      }
      return th;
    });
    if (this.cfg.actions) headCells.push(h('th', { scope: 'col', class: 'col-actions' }, h('span', { class: 'visually-hidden' }, 'Actions')));
    this.tbody = h('tbody');
    this.table = h('table', { class: 'data-table', testid: `${prefix}-table` },
      h('caption', { class: 'visually-hidden' }, title),
      h('thead', {}, h('tr', {}, headCells)),
      this.tbody);
    this.loading = h('p', { class: 'list-loading', testid: `${prefix}-loading`, hidden: true }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), 'Loading…');
    this.empty = h('p', { class: 'list-empty', testid: `${prefix}-empty`, hidden: true });

    this.prev = h('button', { type: 'button', class: 'btn btn-small', testid: `${prefix}-prev`, onclick: () => this.goTo(this.state.page - 1) }, '← Previous');
    this.next = h('button', { type: 'button', class: 'btn btn-small', testid: `${prefix}-next`, onclick: () => this.goTo(this.state.page + 1) }, 'Next →');
    this.pageInfo = h('span', { class: 'page-info', testid: `${prefix}-page-info`, 'aria-live': 'polite' });
    const sizes = this.cfg.pageSizes || [10, 25, 50, 100];
    this.pageSize = h('select', { id: uid('page-size'), testid: `${prefix}-page-size` },
      sizes.map((n) => h('option', { value: String(n) }, String(n))));
    this.pageSize.value = String(this.state.size);
    this.pageSize.addEventListener('change', () => {
      this.announce('');
      this.state.size = Number(this.pageSize.value);
      this.state.page = 0;
      this.reload();
    });
    const pager = h('nav', { class: 'pager', testid: `${prefix}-pager`, 'aria-label': `${title} pages` },
      h('div', { class: 'pager-buttons' }, this.prev, this.pageInfo, this.next),
      h('div', { class: 'page-size' }, h('label', { for: this.pageSize.id }, 'Per page'), this.pageSize));

    this.el = h('section', { class: 'list', testid: `${prefix}-list`, 'aria-labelledby': headingId },
      h('div', { class: 'list-head' }, this.heading, this.cfg.headerExtra || null),
      h('div', { class: 'list-toolbar' }, this.cfg.toolbar || [searchForm, sortField]),
      this.status,
      h('div', { class: 'list-error-row' }, this.error, this.retry),
      h('div', { class: 'table-wrap' }, this.table),
      this.loading,
      this.empty,
      pager);
    this.updateSortUi();
  }

  // ---- state changes ----

  applyFilter() {
    clearTimeout(this.searchTimer);
    const filter = this.search.value.trim();
    if (filter === this.state.filter) return;
    this.announce('');
    this.state.filter = filter;
    this.state.page = 0;
    this.reload();
  }

  toggleSort(field) {
    const current = this.state.sort;
    this.setSort(current === field ? `-${field}` : field);
  }

  setSort(sort) {
    this.announce('');
    this.state.sort = sort;
    this.state.page = 0;
    this.updateSortUi();
    this.reload();
  }

  goTo(page) {
    if (page < 0) return;
    this.announce('');
    this.state.page = page;
    this.reload();
  }

  updateSortUi() {
    const sort = this.state.sort || '';
    const descending = sort.startsWith('-');
    const field = descending ? sort.slice(1) : sort;
    for (const [name, { th, indicator, button }] of this.headerButtons) {
      if (name === field) {
        th.setAttribute('aria-sort', descending ? 'descending' : 'ascending');
        indicator.textContent = descending ? '▼' : '▲';
        indicator.classList.remove('unsorted');
        button.classList.add('sorted');
      } else {
        th.setAttribute('aria-sort', 'none');
        indicator.textContent = '↕';
        indicator.classList.add('unsorted');
        button.classList.remove('sorted');
      }
    }
    if ([...this.sortSelect.options].some((o) => o.value === sort)) this.sortSelect.value = sort;
  }

  announce(message) {
    this.status.textContent = message;
  }

  focusHeading() {
    focusQuietly(this.heading);
  }

  destroy() {
    clearTimeout(this.searchTimer);
    if (this.controller) this.controller.abort();
    this.seq += 1;
  }

  // ---- loading ----

  async reload() {
    if (this.controller) this.controller.abort();
    const controller = new AbortController();
    this.controller = controller;
    const seq = ++this.seq;
    const state = { ...this.state };
    this.error.clear();
    this.retry.hidden = true;
    this.loading.hidden = false;
    this.table.setAttribute('aria-busy', 'true');
    this.prev.disabled = true;
    this.next.disabled = true;
    try {
      const result = await this.cfg.load({ ...state, signal: controller.signal });
      if (seq !== this.seq) return;
      const pages = Math.max(1, Math.ceil(result.filtered / state.size));
      if (state.page > 0 && state.page >= pages) {
        // The page emptied (keys revoked, a narrower filter): show the last page instead.
        this.state.page = pages - 1;
        this.reload();
        return;
      }
      this.result = result;
      this.render(result, state, pages);
      if (this.cfg.onLoad) this.cfg.onLoad(result, state);
    } catch (error) {
      if (isAbort(error) || seq !== this.seq) return;
      this.error.show(errorMessage(error));
      this.retry.hidden = error && error.kind === 'unauthorized';
      this.updatePager(this.result ? Math.max(1, Math.ceil(this.result.filtered / state.size)) : 1);
    } finally {
      if (seq === this.seq) {
        this.loading.hidden = true;
        this.table.removeAttribute('aria-busy');
      }
    }
  }

  render(result, state, pages) {
    this.rows = result.items.map((item) => new Row(this, item, result.context));
    this.tbody.replaceChildren(...this.rows.flatMap((row) => [row.tr, row.detailTr]));
    const many = this.cfg.noun[1];
    if (result.items.length === 0) {
      this.empty.textContent = this.cfg.emptyText
        ? this.cfg.emptyText(state.filter)
        : state.filter ? `No ${many} match “${state.filter}”.` : `No ${many} yet.`;
      this.empty.hidden = false;
      this.table.classList.add('is-empty');
    } else {
      this.empty.hidden = true;
      this.table.classList.remove('is-empty');
    }
    this.el.dataset.total = String(result.filtered);
    this.updatePager(pages);
  }

  updatePager(pages) {
    const { page } = this.state;
    this.pageInfo.textContent = `Page ${Math.min(page + 1, pages)} of ${pages}`;
    this.prev.disabled = page <= 0;
    this.next.disabled = page + 1 >= pages;
  }

  get columnCount() {
    return this.cfg.columns.length + (this.cfg.actions ? 1 : 0);
  }
}

/** One item of the list: its table row, an optional detail row under it, and its actions. */
export class Row {
  constructor(list, item, context) {
    this.list = list;
    this.item = item;
    this.context = context;
    const prefix = list.cfg.prefix;
    this.tr = h('tr', { testid: `${prefix}-row`, class: 'data-row' });
    this.detailCell = h('td', { colSpan: list.columnCount, class: 'detail-cell' });
    this.detailTr = h('tr', { class: 'detail-row', testid: `${prefix}-row-detail`, hidden: true }, this.detailCell);
    this.error = errorBox('row-error', 'row-error');
    this.render();
  }

  get name() {
    return (this.item.attributes && this.item.attributes.name) || '';
  }

  render() {
    const { columns, actions } = this.list.cfg;
    this.tr.dataset.id = this.item.id;
    this.tr.dataset.name = this.name;
    this.detailTr.dataset.id = this.item.id;
    if (this.list.cfg.rowData) Object.assign(this.tr.dataset, this.list.cfg.rowData(this.item));
    this.cells = new Map();
    const cells = columns.map((column) => {
      const td = h('td', {
        'data-label': column.label,
        testid: `cell-${column.id}`,
        class: `col-${column.id}${column.primary ? ' cell-primary' : ''}${column.class ? ` ${column.class}` : ''}`,
      }, column.cell(this.item, this));
      this.cells.set(column.id, td);
      return td;
    });
    if (actions) {
      this.actionBox = h('div', { class: 'row-actions' }, actions(this.item, this));
      cells.push(h('td', { class: 'col-actions' }, this.actionBox, this.error));
    }
    this.tr.replaceChildren(...cells);
  }

  /** Replace the item (after a rename) and redraw the row, keeping the detail row. */
  update(item) {
    this.item = item;
    this.render();
  }

  cell(id) {
    return this.cells.get(id);
  }

  showError(message) {
    this.error.show(message);
  }

  clearError() {
    this.error.clear();
  }

  showDetail(node) {
    this.detailCell.replaceChildren(node);
    this.detailTr.hidden = false;
  }

  hideDetail() {
    this.detailCell.replaceChildren();
    this.detailTr.hidden = true;
  }

  focusAction(testid) {
    const target = this.tr.querySelector(`[data-testid="${testid}"]`);
    if (target) target.focus();
    else this.list.focusHeading();
  }
}

// ---- row actions ----

/** A small row action button. */
export function actionButton(testid, label, onclick, { danger = false, ariaLabel } = {}) {
  return h('button', {
    type: 'button',
    class: danger ? 'btn btn-small btn-danger-quiet' : 'btn btn-small',
    testid,
    'aria-label': ariaLabel,
    onclick,
  }, label);
}

/** The name cell: the name with the rename form swapped in while editing. */
export function nameCell(item) {
  return h('span', { class: 'item-name', testid: 'row-name' }, (item.attributes && item.attributes.name) || '');
}

/**
 * Rename in place: the name cell becomes a form (rename-form, rename-input, rename-save,
 * rename-cancel, rename-error). Enter saves, Escape cancels. `save(name)` returns the
 * updated item (or throws an ApiError, shown next to the input).
 */
export function renameButton(row, { noun, save }) {
  return actionButton('row-rename', 'Rename', () => startRename(row, { noun, save }), {
    ariaLabel: `Rename ${noun} ${row.name}`,
  });
}

function startRename(row, { noun, save }) {
  const cell = row.cell('name');
  if (!cell || cell.querySelector('form')) return;
  row.clearError();
  const original = row.name;
  const input = h('input', {
    type: 'text',
    class: 'rename-input',
    testid: 'rename-input',
    value: original,
    maxlength: '255',
    required: true,
    autocomplete: 'off',
    'aria-label': `New name for ${noun} ${original}`,
  });
  const error = errorBox('rename-error');
  const saveButton = h('button', { type: 'submit', class: 'btn btn-small btn-primary', testid: 'rename-save' }, 'Save');
  const cancelButton = h('button', { type: 'button', class: 'btn btn-small', testid: 'rename-cancel' }, 'Cancel');
  let pending = false;
  const cancel = () => {
    if (pending) return;
    row.render();
    row.focusAction('row-rename');
  };
  const form = h('form', { class: 'rename-form', testid: 'rename-form', novalidate: true },
    h('div', { class: 'rename-controls' }, input, saveButton, cancelButton),
    error);
  input.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') {
      event.preventDefault();
      event.stopPropagation();
      cancel();
    }
  });
  cancelButton.addEventListener('click', cancel);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (pending) return;
    const name = input.value.trim();
    if (!name) {
      error.show('Enter a name.');
      input.focus();
      return;
    }
    if (name === original) {
      cancel();
      return;
    }
    pending = true;
    error.clear();
    input.readOnly = true;
    cancelButton.disabled = true;
    setBusy(saveButton, true, 'Saving…');
    try {
      const updated = await save(name);
      pending = false;
      row.update(updated || { ...row.item, attributes: { ...row.item.attributes, name } });
      row.list.announce(`Renamed “${original}” to “${name}”.`);
      row.focusAction('row-rename');
    } catch (err) {
      pending = false;
      input.readOnly = false;
      cancelButton.disabled = false;
      setBusy(saveButton, false);
      if (!form.isConnected) return;
      error.show(errorMessage(err));
      input.focus();
    }
  });
  cell.replaceChildren(form);
  input.focus();
  input.select();
}
