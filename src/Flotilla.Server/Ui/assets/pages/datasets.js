import { api, list, pick } from '../api.js';
import { errorBox, h, number, table, when } from '../dom.js';

export async function render(main) {
  main.replaceChildren(h('h1', {}, 'Datasets'),
    h('p', { class: 'sub' }, 'Register one with ', h('code', {}, 'flotilla dataset add NAME --csv PATH --target COLUMN'), '.'));
  try {
    const rows = list(await api('/api/datasets'), 'datasets', 'items');
    main.append(h('div', { class: 'panel' }, table(rows, [
      { title: 'Name', value: d => h('strong', {}, d.name) },
      { title: 'Target', value: d => pick(d, 'target', 'targetColumn') ?? '—' },
      { title: 'Rows', value: d => number(pick(d, 'rowCount', 'rows')), num: true },
      { title: 'Features', value: d => { const f = pick(d, 'features', 'columns', 'featureCount'); return Array.isArray(f) ? f.length : number(f); }, num: true },
      { title: 'Labels', value: d => describeBalance(pick(d, 'labelBalance', 'labels', 'classBalance')) },
      { title: 'Registered', value: d => when(pick(d, 'createdAt', 'registeredAt')) },
    ], 'No datasets yet.')));
  } catch (error) {
    main.append(errorBox(error));
  }
}

function describeBalance(balance) {
  if (!balance) return '—';
  if (Array.isArray(balance)) return balance.map(b => `${pick(b, 'label', 'value', 'name')}: ${pick(b, 'count', 'rows')}`).join(', ');
  if (typeof balance === 'object') return Object.entries(balance).map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : v}`).join(', ');
  return String(balance);
}
