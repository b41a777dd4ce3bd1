import { api, list, pick } from '../api.js';
import { every } from '../app.js';
import { bytes, errorBox, h, number, table, when } from '../dom.js';

export async function render(main) {
  const body = h('div', {});
  main.replaceChildren(h('h1', {}, 'Endpoint'),
    h('p', { class: 'sub' }, 'One fleet serves every deployed model: loaded on first call, evicted least-recently-used when memory is full.'),
    body);

  const load = async () => {
    try {
      const endpoint = await api('/api/endpoint');
      const totals = endpoint.totals ?? {};
      const calls = (totals.hits ?? 0) + (totals.misses ?? 0);
      body.replaceChildren(
        h('div', { class: 'cards' },
          card('Instances', number(totals.instances ?? list(endpoint, 'instances').length)),
          card('Models loaded', number(totals.modelsLoaded)),
          card('Memory', `${bytes(totals.bytesInUse)} / ${bytes(totals.budgetBytes)}`),
          card('Hits', number(totals.hits)),
          card('Misses', number(totals.misses)),
          card('Hit rate', calls ? `${(100 * (totals.hits ?? 0) / calls).toFixed(1)}%` : '—'),
          card('Evictions', number(totals.evictions))),
        h('h2', {}, 'Deployed models'),
        h('div', { class: 'panel', 'data-testid': 'aliases' }, table(list(endpoint, 'aliases'), [
          { title: 'Group', value: a => h('a', { href: `#/registry/${encodeURIComponent(a.group)}` }, h('strong', {}, a.group)) },
          { title: 'Version', value: a => h('a', { href: `#/registry/packages/${encodeURIComponent(a.packageId)}` }, `v${a.version}`) },
          { title: 'Artifact', value: a => h('code', {}, String(pick(a, 'artifactSha256', 'artifact') ?? '').slice(0, 12)) },
          { title: 'Deployed', value: a => when(a.deployedAt) },
        ], 'Nothing deployed: approve a version in the registry.')),
        h('h2', {}, 'Instances'),
        h('div', { class: 'panel' }, table(list(endpoint, 'instances'), [
          { title: 'Silo', value: i => h('code', {}, pick(i, 'silo', 'id')) },
          { title: 'Models loaded', value: i => number(i.modelsLoaded), num: true },
          { title: 'Memory', value: i => h('div', {}, h('div', { class: 'bar' }, h('span', { style: `width:${Math.min(100, 100 * (i.bytesInUse ?? 0) / (i.budgetBytes || 1))}%` })), h('small', { class: 'muted' }, `${bytes(i.bytesInUse)} of ${bytes(i.budgetBytes)}`)) },
        ], 'No instance has reported yet.')),
        h('h2', {}, 'Models'),
        h('div', { class: 'panel' }, table(list(endpoint, 'models'), [
          { title: 'Groups', value: m => (m.groups ?? []).join(', ') || '—' },
          { title: 'Artifact', value: m => h('code', {}, String(m.artifactSha256 ?? '').slice(0, 12)) },
          { title: 'Loaded on', value: m => (m.loadedOn ?? []).join(', ') || 'not loaded' },
          { title: 'Calls', value: m => number(m.invocations), num: true },
          { title: 'Hits', value: m => number(m.hits), num: true },
          { title: 'Misses', value: m => number(m.misses), num: true },
          { title: 'Loads', value: m => number(m.loads), num: true },
          { title: 'Evictions', value: m => number(m.evictions), num: true },
          { title: 'p50 ms', value: m => number(m.p50LatencyMilliseconds, 3), num: true },
          { title: 'p99 ms', value: m => number(m.p99LatencyMilliseconds, 3), num: true },
        ], 'No model has been called yet.')));
    } catch (error) {
      body.replaceChildren(errorBox(error));
    }
  };
  await load();
  return every(2000, load);
}

function card(title, value) {
  return h('div', { class: 'card' }, h('div', { class: 'k' }, title), h('div', { class: 'v' }, value));
}
