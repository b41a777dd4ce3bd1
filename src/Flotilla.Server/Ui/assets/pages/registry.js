import { api } from '../api.js';
import { errorBox, h, number, table, when } from '../dom.js';

export async function render(main) {
  main.replaceChildren(h('h1', {}, 'Model registry'),
    h('p', { class: 'sub' }, 'One group per pipeline and dataset; every successful execution adds a version.'));
  try {
    /** @type {[import('../contracts.js').PackageGroup[], import('../contracts.js').EndpointView | null]} */
    const [groups, endpoint] = await Promise.all([api('/api/registry/groups'), api('/api/endpoint').catch(() => null)]);
    const serving = new Map((endpoint?.aliases ?? []).map(a => [a.group, a]));
    main.append(h('div', { class: 'panel' }, table(groups, [
      { title: 'Group', value: g => h('a', { href: `#/registry/${encodeURIComponent(g.name)}` }, h('strong', {}, g.name)) },
      { title: 'Latest version', value: g => number(g.latestVersion), num: true },
      { title: 'Approved versions', value: g => number(g.approvedCount), num: true },
      { title: 'Serving', value: g => serving.get(g.name) ? `v${serving.get(g.name).version}` : '—' },
      { title: 'Created', value: g => when(g.createdAt) },
    ], 'No model groups yet: a successful pipeline execution registers one.')));
  } catch (error) {
    main.append(errorBox(error));
  }
}
