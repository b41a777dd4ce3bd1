import { api } from '../api.js';
import { every } from '../app.js';
import { badge, duration, errorBox, h, table, when } from '../dom.js';

export async function render(main) {
  const body = h('div', {});
  main.replaceChildren(
    h('h1', {}, 'Executions'),
    h('p', { class: 'sub' }, 'Every pipeline run: start one with ', h('code', {}, 'flotilla run -p DatasetName=NAME --wait'), '.'),
    body);

  const load = async () => {
    try {
      /** @type {import('../contracts.js').ExecutionSummary[]} */
      const rows = await api('/api/executions');
      rows.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
      body.replaceChildren(h('div', { class: 'panel' }, table(rows, [
        { title: 'Execution', value: e => h('a', { href: `#/executions/${encodeURIComponent(e.id)}` }, h('code', {}, e.id)) },
        { title: 'Pipeline', value: e => e.pipeline },
        { title: 'Dataset', value: e => e.parameters.DatasetName ?? '—' },
        { title: 'Status', value: e => badge(e.status) },
        { title: 'Started', value: e => when(e.createdAt) },
        { title: 'Duration', value: e => duration(e.createdAt, e.endedAt), num: true },
      ], 'No executions yet.')));
    } catch (error) {
      body.replaceChildren(errorBox(error));
    }
  };
  await load();
  return every(2000, load);
}
