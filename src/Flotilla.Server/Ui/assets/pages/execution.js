import { api, events } from '../api.js';
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
      /** @type {[import('../contracts.js').ExecutionDetail, import('../contracts.js').ExecutionTrial[]]} */
      const [execution, trials] = await Promise.all([api(path), api(`${path}/trials`).catch(() => [])]);
      finished = FINISHED.includes(execution.status);
      if (!dependencies.size) {
        /** @type {import('../contracts.js').Pipeline | null} */
        const definition = await api(`/api/pipelines/${encodeURIComponent(execution.pipeline)}`).catch(() => null);
        dependencies = new Map((definition?.steps ?? []).map(step => [step.name, step.dependsOn]));
      }
      draw(execution, trials);
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
    const parameters = execution.parameters;
    const stepList = execution.steps;
    const failure = execution.failureReason ?? stepList.map(s => s.failureReason).find(Boolean);
    const started = execution.createdAt;
    const ended = execution.endedAt;
    /** @type {import('../contracts.js').RegisterOutputs | undefined} */
    const register = stepList.find(s => s.type === 'Register' && s.status === 'Succeeded')?.outputs;
    const packageId = register?.packageId;
    head.replaceChildren(...present(
      h('div', { class: 'row' }, h('h1', {}, `Execution ${execution.id}`), badge(execution.status),
        execution.status === 'Executing' ? h('button', { class: 'reject', 'data-testid': 'stop', onclick: stop }, 'Stop') : null),
      h('p', { class: 'sub' },
        `${execution.pipeline} on dataset ${parameters.DatasetName ?? '—'}`,
        ` · started ${when(started)} · ${duration(started, ended)}`),
      failure ? h('div', { class: 'error', 'data-testid': 'failure' }, failure) : null,
      packageId ? h('div', { class: 'notice' }, 'Registered ', h('a', { href: `#/registry/packages/${encodeURIComponent(packageId)}` }, packageId),
        ` (${register.approvalStatus})`) : null));

    // The tuner's planned count (a grid may plan fewer than MaxTuningJobs): on each trial, and on the Tune step once it ends.
    const planned = Math.max(...trials.map(t => t.planned).filter(Number.isFinite),
      ...stepList.map(s => s.outputs?.planned).filter(Number.isFinite));
    const total = Number.isFinite(planned) ? Math.max(planned, trials.length) : '?';
    graph.replaceChildren(dag(stepList.map(step => ({
      ...step,
      dependsOn: dependencies.get(step.name),
      detail: step.type === 'Tune' && step.status !== 'Pending' ? `${trials.length}/${total} trials` : step.status,
    }))));

    steps.replaceChildren(h('h2', {}, 'Steps'), h('div', { class: 'panel' }, table(stepList, [
      { title: 'Step', value: s => h('strong', {}, s.name) },
      { title: 'Status', value: s => badge(s.status) },
      { title: 'Started', value: s => clock(s.startedAt) },
      { title: 'Duration', value: s => duration(s.startedAt, s.endedAt), num: true },
      { title: 'Outputs / failure', value: s => h('span', { class: 'wrap' }, s.failureReason ?? describe(s.outputs)) },
    ])));

    const scorer = parameters.CrossValidationScorer ?? 'roc_auc';
    const scored = trials
      .filter(t => typeof t.score === 'number' && Number.isFinite(t.score))
      .sort((a, b) => a.number - b.number);
    // Pruned and failed trials show as dots; only complete ones can be the best.
    let best = -Infinity;
    const bestSoFar = scored.map((t, i) => [i + 1, (best = ['Pruned', 'Failed'].includes(t.status) ? best : Math.max(best, t.score))])
      .filter(([, b]) => Number.isFinite(b));
    /** @type {import('../contracts.js').TuneOutputs | undefined} */
    const tune = stepList.find(s => s.type === 'Tune' && s.outputs)?.outputs;
    tuning.replaceChildren(...present(
      h('h2', {}, `Tuning: ${trials.length}/${total} trials`, Number.isFinite(best) ? ` · best ${scorer} ${number(best)}` : ''),
      tune?.silos?.length ? silos(tune.silos) : null,
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
      h('div', { class: 'panel', 'data-testid': 'trials' }, table([...trials].sort((a, b) => a.number - b.number), [
        { title: '#', value: t => t.number, num: true },
        { title: 'Algorithm', value: t => t.algorithm },
        { title: scorer, value: t => number(t.score), num: true },
        { title: 'Folds', value: t => t.foldScores.map(f => number(f, 3)).join(' ') },
        { title: 'Status', value: t => badge(t.status) },
        { title: 'Seconds', value: t => number(t.seconds, 2), num: true },
        { title: 'Silo', value: t => t.silo ? h('code', {}, t.silo) : '—' },
        { title: 'Hyper-parameters', value: t => h('code', {}, describe(t.parameters)) },
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

/** Where the Tune step's trials ran: each silo's cores and trials, and the silos left out or lost. */
function silos(list) {
  return h('p', { class: 'sub', 'data-testid': 'tune-silos' }, 'Trials ran on ', ...list.flatMap((s, i) => [
    i ? ' · ' : '',
    h('code', {}, s.silo),
    s.leftOut ? ` left out: ${s.leftOut}` : ` ${s.cores} core${s.cores === 1 ? '' : 's'}, ${s.trials} trial${s.trials === 1 ? '' : 's'}`,
    s.lost ? ` (${s.lost})` : '',
  ]));
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
