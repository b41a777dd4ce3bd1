import { api } from '../api.js';
import { badge, errorBox, h, number, table, when } from '../dom.js';
import { monitoringSections } from './monitoring.js';

export async function render(main, group) {
  const path = `/api/registry/groups/${encodeURIComponent(group)}`;
  main.replaceChildren(
    h('p', {}, h('a', { href: '#/registry' }, '← Registry')),
    h('h1', {}, group));
  try {
    /** @type {[import('../contracts.js').PackageSummary[], import('../contracts.js').DeploymentRecord[], import('../contracts.js').DeploymentFailure[], import('../contracts.js').EndpointView | null]} */
    const [packages, deployments, failures, endpoint] = await Promise.all([
      api(`${path}/packages`),
      api(`${path}/deployments`).catch(() => []),
      api(`${path}/deployments/failures`).catch(() => []),
      api('/api/endpoint').catch(() => null),
    ]);
    const serving = endpoint?.aliases.find(a => a.group === group);
    const monitoring = await monitoringSections(group, packages, serving);
    main.append(
      h('p', { class: 'sub' }, serving ? `The endpoint serves v${serving.version} (${serving.packageId}).` : 'No version is deployed yet: approve one.'),
      h('h2', {}, 'Versions'),
      h('div', { class: 'panel' }, table(packages.sort((a, b) => b.version - a.version), [
        { title: 'Version', value: p => h('a', { href: `#/registry/packages/${encodeURIComponent(p.id)}` }, `v${p.version}`) },
        { title: 'Status', value: p => h('span', {}, badge(p.approvalStatus), serving?.packageId === p.id ? [' ', badge('Serving')] : null) },
        { title: 'AUC', value: p => number(p.metrics.auc), num: true },
        { title: 'F1', value: p => number(p.metrics.f1), num: true },
        { title: 'Comment', value: p => p.approvalDescription ?? '' },
        { title: 'Registered', value: p => when(p.createdAt) },
      ])),
      h('h2', {}, 'Deployment history'),
      h('div', { class: 'panel' }, table(deployments, [
        { title: 'Version', value: d => h('a', { href: `#/registry/packages/${encodeURIComponent(d.packageId)}` }, `v${d.version}`) },
        { title: 'Served from', value: d => when(d.from) },
        { title: 'Until', value: d => d.to ? when(d.to) : badge('Serving') },
        { title: 'Why it started', value: d => [d.reason, ' ', h('a', { href: `#/audit?target=${encodeURIComponent(d.packageId)}` }, '(audit)')] },
        { title: 'Why it ended', value: d => d.endReason ?? '' },
      ], 'Never deployed.')),
      ...monitoring,
      ...(failures.length === 0 ? [] : [
        h('h2', {}, 'Failed deployments'),
        h('p', { class: 'sub' }, 'Versions that could not be deployed: the model did not load, so the endpoint kept serving what it served.'),
        h('div', { class: 'panel' }, table(failures, [
          { title: 'Version', value: f => h('a', { href: `#/registry/packages/${encodeURIComponent(f.packageId)}` }, `v${f.version}`) },
          { title: 'When', value: f => when(f.at) },
          { title: 'Why it was tried', value: f => f.reason },
          { title: 'Error', value: f => f.error },
        ]))]));
  } catch (error) {
    main.append(errorBox(error));
  }
}
