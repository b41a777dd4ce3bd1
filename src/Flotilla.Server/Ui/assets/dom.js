// Small DOM and formatting helpers. Text always goes through textContent: server data is never parsed as HTML.

export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) element.addEventListener(name.slice(2), value);
    else if (name === 'class') element.className = value;
    else element.setAttribute(name, value === true ? '' : value);
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function badge(status) {
  return h('span', { class: `badge ${status ?? ''}`, 'data-status': status ?? '' }, humanStatus(status));
}

export function humanStatus(status) {
  return status === 'PendingManualApproval' ? 'Pending approval' : (status ?? '—');
}

/** A table from rows and column definitions { title, value(row), num? }. */
export function table(rows, columns, empty = 'Nothing yet.') {
  if (!rows.length) return h('p', { class: 'muted' }, empty);
  return h('table', {},
    h('thead', {}, h('tr', {}, columns.map(c => h('th', { class: c.num ? 'num' : '' }, c.title)))),
    h('tbody', {}, rows.map(row => h('tr', {}, columns.map(c => h('td', { class: c.num ? 'num' : '' }, c.value(row)))))));
}

export function when(iso) {
  if (!iso) return '—';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : date.toLocaleString();
}

export function duration(startIso, endIso) {
  if (!startIso) return '—';
  const ms = (endIso ? new Date(endIso) : new Date()) - new Date(startIso);
  if (!(ms >= 0)) return '—';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m} min ${s % 60} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function number(value, digits = 4) {
  if (typeof value !== 'number' || !Number.isFinite(value)) return value ?? '—';
  return Number.isInteger(value) ? value.toLocaleString() : value.toFixed(digits);
}

export function bytes(value) {
  if (typeof value !== 'number') return '—';
  const units = ['B', 'KB', 'MB', 'GB'];
  let i = 0;
  while (value >= 1024 && i < units.length - 1) { value /= 1024; i++; }
  return `${value.toFixed(i ? 1 : 0)} ${units[i]}`;
}

export function errorBox(error) {
  return h('div', { class: 'error', role: 'alert' }, error?.message ?? String(error));
}
