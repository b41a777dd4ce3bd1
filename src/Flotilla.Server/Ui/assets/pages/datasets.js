import { api } from '../api.js';
import { errorBox, h, number, table, when } from '../dom.js';

export async function render(main) {
  main.replaceChildren(h('h1', {}, 'Datasets'),
    h('p', { class: 'sub' }, 'Register one with ', h('code', {}, 'flotilla dataset add NAME --csv PATH --target COLUMN'),
      ' (without a target, a file only batch jobs score).'));
  try {
    /** @type {import('../contracts.js').Dataset[]} */
    const rows = await api('/api/datasets');
    main.append(h('div', { class: 'panel' }, table(rows, [
      { title: 'Name', value: d => h('strong', {}, d.name) },
      { title: 'Target', value: d => d.target ?? h('span', { class: 'muted' }, 'none: scoring only') },
      { title: 'Rows', value: d => number(d.rowCount), num: true },
      { title: 'Features', value: d => number(d.columns.length), num: true },
      { title: 'Labels', value: d => describeBalance(d.labelBalance) },
      { title: 'Registered', value: d => when(d.createdAt) },
    ], 'No datasets yet.')));
  } catch (error) {
    main.append(errorBox(error));
  }
}

/** @param {Record<string, number>} balance rows per label */
function describeBalance(balance) {
  return Object.entries(balance).map(([label, rows]) => `${label}: ${rows}`).join(', ') || '—';
}
