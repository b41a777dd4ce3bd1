import { api } from '../api.js';
import { every } from '../app.js';
import { bytes, errorBox, h, number, table, when } from '../dom.js';

export async function render(main) {
  const body = h('div', {});
  main.replaceChildren(h('h1', {}, 'Endpoint'),
    h('p', { class: 'sub' }, 'One fleet serves every deployed model: loaded on first call, evicted least-recently-used when memory is full.'),
    body);

  const load = async () => {
    try {
      /** @type {import('../contracts.js').EndpointView} */
      const endpoint = await api('/api/endpoint');
      const totals = endpoint.totals;
      const calls = totals.hits + totals.misses;
      body.replaceChildren(
        h('div', { class: 'cards' },
          card('Instances', number(totals.instances)),
          card('Models loaded', number(totals.modelsLoaded)),
          card('Memory', `${bytes(totals.bytesInUse)} / ${bytes(totals.budgetBytes)}`),
          card('Hits', number(totals.hits)),
          card('Misses', number(totals.misses)),
          card('Hit rate', calls ? `${(100 * totals.hits / calls).toFixed(1)}%` : '—'),
          card('Evictions', number(totals.evictions))),
        h('h2', {}, 'Deployed models'),
        h('div', { class: 'panel', 'data-testid': 'aliases' }, table(endpoint.aliases, [
          { title: 'Group', value: a => h('a', { href: `#/registry/${encodeURIComponent(a.group)}` }, h('strong', {}, a.group)) },
          { title: 'Version', value: a => h('a', { href: `#/registry/packages/${encodeURIComponent(a.packageId)}` }, `v${a.version}`) },
          { title: 'Artifact', value: a => h('code', {}, a.artifactSha256.slice(0, 12)) },
          { title: 'Deployed', value: a => when(a.deployedAt) },
        ], 'Nothing deployed: approve a version in the registry.')),
        traffic(endpoint),
        h('h2', {}, 'Instances'),
        h('div', { class: 'panel' }, table(endpoint.instances, [
          { title: 'Silo', value: i => h('code', {}, i.silo) },
          { title: 'Models loaded', value: i => number(i.modelsLoaded), num: true },
          { title: 'Memory', value: i => h('div', {}, h('div', { class: 'bar' }, h('span', { style: `width:${Math.min(100, 100 * (i.bytesInUse ?? 0) / (i.budgetBytes || 1))}%` })), h('small', { class: 'muted' }, `${bytes(i.bytesInUse)} of ${bytes(i.budgetBytes)}`)) },
        ], 'No instance has reported yet.')),
        h('h2', {}, 'Models'),
        h('div', { class: 'panel' }, table(endpoint.models, [
          { title: 'Groups', value: m => (m.groups ?? []).join(', ') || '—' },
          { title: 'Artifact', value: m => h('code', {}, String(m.artifactSha256 ?? '').slice(0, 12)) },
          { title: 'Loaded on', value: m => (m.loadedOn ?? []).map(s => s === m.home ? `${s} (home)` : s).join(', ') || 'not loaded' },
          { title: 'Copies', value: m => number(m.copies), num: true },
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

/**
 * Splits, shadows and canary rollouts, one panel per group that has any: each route's weight and calls, the
 * shadow's agreement with the answers given, and the rollout's step with its comparison or the reason it ended.
 * @param {import('../contracts.js').EndpointView} endpoint
 */
function traffic(endpoint) {
  const aliases = endpoint.aliases;
  const models = endpoint.models;
  const shadows = endpoint.shadows ?? [];
  const rollouts = endpoint.rollouts ?? [];
  const groups = [...new Set([
    ...aliases.filter(a => (a.routes ?? []).length > 1 || a.shadow).map(a => a.group),
    ...rollouts.map(r => r.group)])].sort();
  if (!groups.length) return null;
  /** @param {string} sha @returns {import('../contracts.js').ModelView | undefined} */
  const modelOf = sha => models.find(m => m.artifactSha256 === sha);
  const percent = (x, digits = 1) => typeof x === 'number' ? `${(100 * x).toFixed(digits)} %` : '—';
  return h('div', {}, h('h2', {}, 'Traffic and rollouts'), ...groups.map(group => {
    const alias = aliases.find(a => a.group === group);
    const routes = alias?.routes?.length ? alias.routes : alias ? [{ version: alias.version, artifactSha256: alias.artifactSha256, weight: 1 }] : [];
    const total = routes.reduce((sum, r) => sum + r.weight, 0) || 1;
    const shadowRoute = alias?.shadow;
    const shadow = shadowRoute ? shadows.find(s => s.group === group && s.version === shadowRoute.version) : undefined;
    const rollout = rollouts.find(r => r.group === group);
    return h('div', { class: 'panel', 'data-testid': `traffic-${group}` },
      h('h3', { style: 'margin-top:0' }, group),
      table(routes, [
        { title: 'Version', value: r => `v${r.version}` },
        { title: 'Share', value: r => percent(r.weight / total, 0), num: true },
        { title: 'Calls', value: r => number(modelOf(r.artifactSha256)?.invocations ?? 0), num: true },
        { title: 'Failures', value: r => number(modelOf(r.artifactSha256)?.failures ?? 0), num: true },
        { title: 'p99 ms', value: r => number(modelOf(r.artifactSha256)?.p99LatencyMilliseconds, 3), num: true },
      ], 'Not served.'),
      alias?.stickyHeader ? h('p', { class: 'sub' }, `Sticky on header ${alias.stickyHeader}.`) : null,
      shadowRoute ? h('div', { 'data-testid': 'shadow' },
        h('h4', {}, `Shadow v${shadowRoute.version} · ${shadowRoute.percent} % of calls`),
        shadow ? table([shadow], [
          { title: 'Copies', value: s => number(s.calls), num: true },
          { title: 'Scored', value: s => number(s.scored), num: true },
          { title: 'Failed', value: s => number(s.failed), num: true },
          { title: 'Dropped', value: s => number(s.dropped), num: true },
          { title: 'Same label', value: s => s.rows ? percent(s.agreement) : '—', num: true },
          { title: 'Mean |ΔP|', value: s => number(s.meanProbabilityDifference, 4), num: true },
          { title: 'p99 |ΔP|', value: s => number(s.p99ProbabilityDifference, 3), num: true },
          { title: 'p99 ms', value: s => number(s.p99LatencyMilliseconds, 3), num: true },
        ], '') : h('p', { class: 'sub' }, 'No copy scored yet.')) : null,
      rollout ? rolloutPanel(rollout, percent) : null);
  }));
}

/** @param {import('../contracts.js').CanaryRollout} rollout */
function rolloutPanel(rollout, percent) {
  const steps = rollout.plan.steps;
  const c = rollout.comparison;
  return h('div', { 'data-testid': 'rollout' },
    h('h4', {}, `Canary v${rollout.version} · ${rollout.state}`),
    h('p', { class: 'sub' },
      `Steps ${steps.map((p, i) => i === rollout.stepIndex ? `[${p} %]` : `${p} %`).join(' → ')}, each at least ${number(rollout.plan.bakeSeconds)} s and ${number(rollout.plan.minCalls)} calls`,
      rollout.previousVersion ? `, against v${rollout.previousVersion}.` : '.'),
    c ? table([
      { who: `v${rollout.version} (canary)`, calls: c.canaryCalls, errors: c.canaryErrorRate, p99: c.canaryP99Milliseconds, auc: c.canaryAuc },
      { who: `v${rollout.previousVersion} (previous)`, calls: c.previousCalls, errors: c.previousErrorRate, p99: c.previousP99Milliseconds, auc: c.previousAuc },
    ], [
      { title: 'Version', value: r => r.who },
      { title: 'Calls', value: r => number(r.calls), num: true },
      { title: 'Error rate', value: r => percent(r.errors), num: true },
      { title: 'p99 ms', value: r => number(r.p99, 3), num: true },
      { title: 'Live AUC', value: r => typeof r.auc === 'number' ? number(r.auc, 3) : '—', num: true },
    ], '') : null,
    c ? h('p', { 'data-testid': 'rollout-verdict' }, `${c.verdict}: ${c.summary}`) : null,
    rollout.reason ? h('p', { class: rollout.state === 'RolledBack' ? 'error' : 'sub', 'data-testid': 'rollout-reason' }, rollout.reason) : null);
}
