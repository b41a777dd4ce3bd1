import { api, events, list, pick } from '../api.js';
import { every } from '../app.js';
import { badge, duration, errorBox, h, number, table, when } from '../dom.js';
import { chart, dag } from '../svg.js';

const FINISHED = ['Succeeded', 'Failed', 'Stopped'];

export async function render(main, id) {
  const path = `/api/executions/${encodeURIComponent(id)}`;
  const head = h('div', {});
  const graph = h('div', { class: 'panel dag' });
  const steps = h('div', {});
  const tuning = h('div', {});
  main.replaceChildren(head, graph, steps, tuning);

  // The execution lists its steps; the pipeline definition says which step depends on which.
  let dependencies = new Map();
  let finished = false;
  const load = async () => {
    try {
      const [execution, trials] = await Promise.all([api(path), api(`${path}/trials`).catch(() => [])]);
      finished = FINISHED.includes(execution.status);
      if (!dependencies.size && execution.pipeline) {
        const definition = await api(`/api/pipelines/${encodeURIComponent(execution.pipeline)}`).catch(() => null);
        dependencies = new Map(list(definition?.steps).map(step => [step.name, step.dependsOn ?? []]));
      }
      draw(execution, list(trials, 'trials', 'items'));
    } catch (error) {
      head.replaceChildren(errorBox(error));
    }
  };

  const stop = async event => {
    event.target.disabled = true;
    try {
      await api(`${path}/stop`, { method: 'POST', body: {} });
      await load();
    } catch (error) {
      head.append(errorBox(error));
    }
  };

  const draw = (execution, trials) => {
    const parameters = execution.parameters ?? {};
    const stepList = list(execution.steps);
    const failure = pick(execution, 'failureReason', 'failure', 'error') ?? stepList.map(s => pick(s, 'failureReason', 'failure', 'error')).find(Boolean);
    const started = pick(execution, 'startedAt', 'createdAt');
    const ended = pick(execution, 'endedAt', 'finishedAt', 'completedAt');
    const register = stepList.find(s => /regist/i.test(s.name))?.outputs;
    const packageId = pick(register ?? {}, 'packageId', 'modelPackageId');
    head.replaceChildren(...present(
      h('div', { class: 'row' }, h('h1', {}, `Execution ${pick(execution, 'id', 'executionId') ?? id}`), badge(execution.status),
        execution.status === 'Executing' ? h('button', { class: 'reject', 'data-testid': 'stop', onclick: stop }, 'Stop') : null),
      h('p', { class: 'sub' },
        `${pick(execution, 'pipeline', 'pipelineName') ?? 'pipeline'} on dataset ${pick(execution, 'dataset', 'datasetName') ?? parameters.DatasetName ?? '—'}`,
        ` · started ${when(started)} · ${duration(started, ended)}`),
      failure ? h('div', { class: 'error', 'data-testid': 'failure' }, failure) : null,
      packageId ? h('div', { class: 'notice' }, 'Registered ', h('a', { href: `#/registry/packages/${encodeURIComponent(packageId)}` }, packageId),
        register.approvalStatus ? ` (${register.approvalStatus})` : '') : null));

    const tuned = trials.filter(t => !['Running', 'Pending'].includes(t.status));
    // The tuner's planned count (a grid may plan fewer than MaxTuningJobs): on each trial, and on the Tune step once it ends.
    const planned = Math.max(...trials.map(t => t.planned).filter(Number.isFinite),
      ...stepList.map(s => s.outputs?.planned).filter(Number.isFinite));
    const total = Number.isFinite(planned) ? Math.max(planned, tuned.length) : '?';
    graph.replaceChildren(dag(stepList.map(step => ({
      ...step,
      dependsOn: step.dependsOn ?? dependencies.get(step.name),
      detail: /tun/i.test(step.name) && step.status && step.status !== 'Pending' ? `${tuned.length}/${total} trials` : step.status,
    }))));

    steps.replaceChildren(h('h2', {}, 'Steps'), h('div', { class: 'panel' }, table(stepList, [
      { title: 'Step', value: s => h('strong', {}, s.name) },
      { title: 'Status', value: s => badge(s.status) },
      { title: 'Started', value: s => clock(pick(s, 'startedAt', 'startTime')) },
      { title: 'Duration', value: s => duration(pick(s, 'startedAt', 'startTime'), pick(s, 'endedAt', 'finishedAt', 'completedAt')), num: true },
      { title: 'Outputs / failure', value: s => h('span', { class: 'wrap' }, pick(s, 'failureReason', 'failure', 'error') ?? describe(s.outputs)) },
    ])));

    const scorer = parameters.CrossValidationScorer ?? 'roc_auc';
    const scored = tuned
      .map((t, i) => ({ ...t, n: pick(t, 'number', 'trial', 'index') ?? i + 1, score: pick(t, 'score', 'meanScore', 'cvScore') }))
      .filter(t => typeof t.score === 'number' && Number.isFinite(t.score))
      .sort((a, b) => String(pick(a, 'endedAt', 'finishedAt') ?? a.n).localeCompare(String(pick(b, 'endedAt', 'finishedAt') ?? b.n), undefined, { numeric: true }));
    // Pruned and failed trials show as dots; only complete ones can be the best.
    let best = -Infinity;
    const bestSoFar = scored.map((t, i) => [i + 1, (best = ['Pruned', 'Failed'].includes(t.status) ? best : Math.max(best, t.score))])
      .filter(([, b]) => Number.isFinite(b));
    tuning.replaceChildren(...present(
      h('h2', {}, `Tuning: ${tuned.length}/${total} trials`, Number.isFinite(best) ? ` · best ${scorer} ${number(best)}` : ''),
      scored.length ? h('div', { class: 'panel' }, chart({
        testid: 'best-so-far',
        width: 1100, height: 300,
        xLabel: 'trials finished', yLabel: scorer, xInteger: true,
        xDomain: [1, Math.max(2, scored.length)],
        series: [
          { points: scored.map((t, i) => [i + 1, t.score]), color: '#9cc3e6', line: false, dots: true, label: 'trial score' },
          { points: bestSoFar, color: '#1f4e79', step: true, label: 'best so far' },
        ],
      })) : null,
      h('div', { class: 'panel', 'data-testid': 'trials' }, table([...trials].sort((a, b) => (pick(a, 'number', 'trial', 'index') ?? 0) - (pick(b, 'number', 'trial', 'index') ?? 0)), [
        { title: '#', value: t => pick(t, 'number', 'trial', 'index') ?? '', num: true },
        { title: 'Algorithm', value: t => pick(t, 'algorithm', 'family') ?? '—' },
        { title: scorer, value: t => number(pick(t, 'score', 'meanScore', 'cvScore')), num: true },
        { title: 'Folds', value: t => (pick(t, 'foldScores', 'folds') ?? []).map(f => number(f, 3)).join(' ') },
        { title: 'Status', value: t => badge(t.status) },
        { title: 'Seconds', value: t => number(pick(t, 'seconds', 'durationSeconds', 'elapsedSeconds'), 2), num: true },
        { title: 'Hyper-parameters', value: t => h('code', {}, describe(pick(t, 'parameters', 'hyperParameters'))) },
      ], 'No trials yet.'))));
  };

  await load();

  // Live: the event stream says "something changed"; polling covers proxies that buffer SSE.
  const stream = new AbortController();
  if (!finished) {
    let pending = false;
    const refresh = () => {
      if (pending) return;
      pending = true;
      setTimeout(async () => { pending = false; await load(); if (finished) stream.abort(); }, 150);
    };
    events(`${path}/events`, refresh, stream.signal).catch(() => { /* polling below keeps the page current */ });
  }
  const stopPolling = every(1500, async () => { if (!finished) await load(); });
  return () => { stopPolling(); stream.abort(); };
}

/** Children without the null placeholders (replaceChildren would print them as "null"). */
function present(...children) {
  return children.filter(child => child !== null && child !== undefined && child !== false);
}

function clock(iso) {
  return iso ? new Date(iso).toLocaleTimeString() : '—';
}

function describe(value) {
  if (value === undefined || value === null) return '';
  if (typeof value !== 'object') return String(value);
  return Object.entries(value).map(([k, v]) => `${k}=${typeof v === 'number' ? number(v, 4) : typeof v === 'object' ? JSON.stringify(v) : v}`).join(' ');
}
