import { api, list, pick } from '../api.js';
import { errorBox, h, number, table, when } from '../dom.js';

export async function render(main) {
  main.replaceChildren(h('h1', {}, 'Model registry'),
    h('p', { class: 'sub' }, 'One group per pipeline and dataset; every successful execution adds a version.'));
  try {
    const [groups, endpoint] = await Promise.all([api('/api/registry/groups'), api('/api/endpoint').catch(() => ({}))]);
    const serving = new Map(list(endpoint, 'aliases').map(a => [a.group, a]));
    main.append(h('div', { class: 'panel' }, table(list(groups, 'groups', 'items'), [
      { title: 'Group', value: g => h('a', { href: `#/registry/${encodeURIComponent(pick(g, 'name', 'group'))}` }, h('strong', {}, pick(g, 'name', 'group'))) },
      { title: 'Latest version', value: g => number(pick(g, 'latestVersion', 'versions')), num: true },
      { title: 'Approved versions', value: g => number(pick(g, 'approvedCount')), num: true },
      { title: 'Serving', value: g => serving.get(pick(g, 'name', 'group')) ? `v${serving.get(pick(g, 'name', 'group')).version}` : '—' },
      { title: 'Created', value: g => when(g.createdAt) },
    ], 'No model groups yet: a successful pipeline execution registers one.')));
  } catch (error) {
    main.append(errorBox(error));
  }
}
