// The group page's monitoring sections: drift of live inputs against the training profile, live quality
// from fed-back labels beside the offline evaluation, and what is captured of the group's calls.
import { api } from '../api.js';
import { badge, bytes, h, number, table } from '../dom.js';
import { s } from '../svg.js';

const TRAINING = '#98a2b3', LIVE = '#1f4e79';

export async function monitoringSections(group, packages, serving) {
  const path = `/api/endpoint/groups/${encodeURIComponent(group)}`;
  // Drift needs the served version's training profile; asking without one would only earn a 409.
  const served = serving ? await api(`/api/registry/packages/${encodeURIComponent(serving.packageId)}`).catch(() => null) : null;
  const profiled = served?.evaluationReport?.profile != null;
  /** @type {[import('../contracts.js').DriftReport | { error: Error } | null, import('../contracts.js').LiveVersionMetrics[], import('../contracts.js').CaptureView | null]} */
  const [drift, live, capture] = await Promise.all([
    profiled ? api(`${path}/drift`).catch(error => ({ error })) : Promise.resolve(serving ? { error: new Error(
      `v${serving.version} was registered without a training profile, so its live traffic has nothing to be compared with; versions the built-in pipeline registers carry one.`) } : null),
    api(`${path}/live-metrics`).catch(() => []),
    api(`${path}/capture`).catch(() => null),
  ]);
  return [...driftSection(drift), ...liveSection(live, packages), ...captureSection(capture)];
}

function driftSection(drift) {
  if (!drift) return [];
  const head = h('h2', {}, 'Drift');
  if (drift.error) return [head, h('p', { class: 'muted', 'data-testid': 'drift-unavailable' }, drift.error.message ?? String(drift.error))];
  const window = drift.window ?? {};
  return [head,
    h('p', { class: 'sub', 'data-testid': 'drift-summary' },
      badge(drift.state), ` v${drift.version}: ${number(window.rows)} live rows in the last ${number(window.minutes, 0)} min`,
      window.rows < window.minRows ? ` (PSI needs ${number(window.minRows)})` : '',
      `; warn above PSI ${drift.warnPsi}, alert above ${drift.alertPsi}.`,
      drift.topDrifted?.length ? ` Most drifted: ${drift.topDrifted.join(', ')}.` : ''),
    h('div', { class: 'grid', 'data-testid': 'drift-charts' },
      [...drift.features].sort((a, b) => b.psi - a.psi).map(f => h('div', { class: 'panel', 'data-feature': f.name },
        h('h3', {}, f.name, ' ', badge(f.state)),
        h('p', { class: 'muted' }, `PSI ${number(f.psi)} · missing ${percent(f.liveMissingShare)} live, ${percent(f.trainingMissingShare)} in training`,
          f.kind === 'Categorical' ? ` · unseen ${percent(f.liveUnseenShare)}` : ''),
        histogram(f.bins, f.training, f.live, `drift-${f.name}`))),
      h('div', { class: 'panel', 'data-feature': '(score)' },
        h('h3', {}, 'P(positive) ', badge(drift.score.state)),
        h('p', { class: 'muted' }, `PSI ${number(drift.score.psi)} against the test rows at registration`),
        histogram(drift.score.training.map((_, i) => `${i / 10}–${(i + 1) / 10}`), drift.score.training, drift.score.live, 'drift-score')))];
}

function liveSection(live, packages) {
  if (!live.length) return [];
  const offline = new Map(packages.map(p => [p.version, p.metrics]));
  return [h('h2', {}, 'Live quality'),
    h('p', { class: 'sub' }, 'From the true labels sent to POST /models/{group}/feedback, beside the evaluation on the test rows at registration.'),
    h('div', { class: 'panel', 'data-testid': 'live-metrics' }, table(live, [
      { title: 'Version', value: m => h('a', { href: `#/registry/packages/${encodeURIComponent(m.packageId)}` }, `v${m.version}`) },
      { title: 'Rows scored', value: m => number(m.calls), num: true },
      { title: 'Labelled', value: m => number(m.labelled), num: true },
      { title: 'Live AUC', value: m => number(m.auc), num: true },
      { title: 'Test AUC', value: m => number(offline.get(m.version)?.auc), num: true },
      { title: 'Live accuracy', value: m => number(m.accuracy), num: true },
      { title: 'Test accuracy', value: m => number(offline.get(m.version)?.accuracy), num: true },
      { title: 'Brier', value: m => number(m.brier), num: true },
      { title: 'Test log loss', value: m => number(offline.get(m.version)?.logLoss), num: true },
    ])),
    h('div', { class: 'grid' }, live.filter(m => m.reliability.length).map(m => h('div', { class: 'panel', 'data-version': m.version },
      h('h3', {}, `v${m.version} calibration`),
      h('p', { class: 'muted' }, `Mean P(positive) against the share labelled positive, per tenth of P, over ${number(m.labelled)} labelled rows; Brier ${number(m.brier)}.`),
      reliability(m.reliability, `reliability-v${m.version}`))))];
}

function captureSection(capture) {
  if (!capture) return [];
  return [h('h2', {}, 'Capture'),
    h('p', { class: 'sub', 'data-testid': 'capture-summary' },
      capture.percent > 0 ? `${number(capture.percent, 1)} % of calls captured` : 'No calls captured',
      capture.ownSetting ? ' (this group\'s setting)' : ' (the server\'s default)',
      `: ${number(capture.objects)} ${capture.objects === 1 ? 'batch' : 'batches'}, ${bytes(capture.bytes)} under ${capture.prefix}, a JSON line per scored row. `,
      'Set it with PUT /api/endpoint/groups/{group}/capture or a stack file\'s monitoring.capture.')];
}

function percent(share) {
  return typeof share === 'number' ? `${(share * 100).toFixed(1)}%` : '—';
}

/** A reliability diagram: each bin's mean prediction against its observed positive share, the diagonal for a calibrated model. */
function reliability(bins, testid) {
  const size = 220, M = { l: 40, r: 10, t: 10, b: 34 };
  const iw = size - M.l - M.r, ih = size - M.t - M.b;
  const X = v => M.l + v * iw, Y = v => M.t + ih - v * ih;
  const svg = s('svg', { viewBox: `0 0 ${size} ${size}`, class: 'chart square', role: 'img', 'aria-label': 'Predicted against observed positive share', 'data-testid': testid });
  for (const t of [0, 0.5, 1]) {
    svg.append(s('line', { x1: M.l, x2: M.l + iw, y1: Y(t), y2: Y(t), stroke: '#eef0f3' }),
      s('text', { x: M.l - 6, y: Y(t) + 4, 'text-anchor': 'end', 'font-size': 11, fill: '#667085' }, t),
      s('text', { x: X(t), y: M.t + ih + 14, 'text-anchor': 'middle', 'font-size': 11, fill: '#667085' }, t));
  }
  svg.append(s('line', { x1: X(0), y1: Y(0), x2: X(1), y2: Y(1), stroke: TRAINING, 'stroke-dasharray': '4 3' }),
    s('text', { x: M.l + iw / 2, y: size - 4, 'text-anchor': 'middle', 'font-size': 11, fill: '#667085' }, 'mean P(positive)'));
  const top = Math.max(...bins.map(b => b.count));
  for (const b of bins) {
    svg.append(s('circle', { cx: X(b.meanPredicted), cy: Y(b.observedPositive), r: 2.5 + 4 * Math.sqrt(b.count / top), fill: LIVE, 'fill-opacity': 0.8, 'data-count': b.count }));
  }
  return svg;
}

/** Training against live shares per bin, side by side. */
function histogram(labels, training, live, testid) {
  const width = 420, height = 220, M = { l: 44, r: 10, t: 22, b: 50 };
  const iw = width - M.l - M.r, ih = height - M.t - M.b;
  const top = Math.max(0.01, ...training, ...live);
  const slot = iw / labels.length, bar = Math.max(2, slot / 2 - 2);
  const Y = v => M.t + ih - v / top * ih;
  const svg = s('svg', { viewBox: `0 0 ${width} ${height}`, class: 'chart', role: 'img', 'aria-label': 'Training and live share per bin', 'data-testid': testid });
  for (const t of [0, top / 2, top]) {
    svg.append(s('line', { x1: M.l, x2: M.l + iw, y1: Y(t), y2: Y(t), stroke: '#eef0f3' }),
      s('text', { x: M.l - 6, y: Y(t) + 4, 'text-anchor': 'end', 'font-size': 11, fill: '#667085' }, `${Math.round(t * 100)}%`));
  }
  labels.forEach((label, i) => {
    const x = M.l + i * slot + 1;
    svg.append(
      s('rect', { x, y: Y(training[i] ?? 0), width: bar, height: Math.max(0, ih + M.t - Y(training[i] ?? 0)), fill: TRAINING, 'data-series': 'training' }),
      s('rect', { x: x + bar + 1, y: Y(live[i] ?? 0), width: bar, height: Math.max(0, ih + M.t - Y(live[i] ?? 0)), fill: LIVE, 'data-series': 'live' }),
      s('text', { x: x + bar, y: M.t + ih + 14, 'text-anchor': 'end', 'font-size': 9.5, fill: '#667085', transform: `rotate(-35 ${x + bar} ${M.t + ih + 14})` }, label));
  });
  [['training', TRAINING], ['live', LIVE]].forEach(([name, color], i) => svg.append(
    s('rect', { x: M.l + 8 + i * 80, y: 6, width: 10, height: 10, fill: color, rx: 2 }),
    s('text', { x: M.l + 23 + i * 80, y: 15, 'font-size': 11.5, fill: '#1d2430' }, name)));
  return svg;
}
