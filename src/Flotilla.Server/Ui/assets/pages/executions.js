import { api, list, pick } from '../api.js';
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
      const rows = list(await api('/api/executions'), 'executions', 'items');
      rows.sort((a, b) => String(pick(b, 'startedAt', 'createdAt') ?? '').localeCompare(String(pick(a, 'startedAt', 'createdAt') ?? '')));
      body.replaceChildren(h('div', { class: 'panel' }, table(rows, [
        { title: 'Execution', value: e => h('a', { href: `#/executions/${encodeURIComponent(pick(e, 'id', 'executionId'))}` }, h('code', {}, pick(e, 'id', 'executionId'))) },
        { title: 'Pipeline', value: e => pick(e, 'pipeline', 'pipelineName') ?? '—' },
        { title: 'Dataset', value: e => pick(e, 'dataset', 'datasetName') ?? pick(e.parameters, 'DatasetName') ?? '—' },
        { title: 'Status', value: e => badge(e.status) },
        { title: 'Started', value: e => when(pick(e, 'startedAt', 'createdAt')) },
        { title: 'Duration', value: e => duration(pick(e, 'startedAt', 'createdAt'), pick(e, 'endedAt', 'finishedAt', 'completedAt')), num: true },
      ], 'No executions yet.')));
    } catch (error) {
      body.replaceChildren(errorBox(error));
    }
  };
  await load();
  return every(2000, load);
}
