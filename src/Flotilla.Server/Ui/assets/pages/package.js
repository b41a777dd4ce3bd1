import { api, list, pick } from '../api.js';
import { every } from '../app.js';
import { badge, errorBox, h, number, when } from '../dom.js';
import { chart, confusion } from '../svg.js';

const HEADLINE = ['accuracy', 'precision', 'recall', 'f1', 'auc', 'averagePrecision', 'logLoss'];
const LABELS = { f1: 'F1', auc: 'AUC', averagePrecision: 'avg precision', logLoss: 'log loss' };

export async function render(main, id) {
  const path = `/api/registry/packages/${encodeURIComponent(id)}`;
  const pkg = await api(path);
  const group = pick(pkg, 'group', 'groupName');
  const report = pick(pkg, 'evaluationReport', 'evaluation') ?? {};
  const metrics = metricsOf(report);

  const status = h('span', { 'data-testid': 'approval-status' }, badge(pkg.approvalStatus));
  const deployment = h('div', { 'data-testid': 'deployment-status', class: 'muted' }, 'Checking the endpoint…');
  const message = h('div', {});
  const comment = h('textarea', { id: 'comment', placeholder: 'Why are you approving or rejecting this version?', 'aria-label': 'Comment' });
  const approve = h('button', { class: 'approve', 'data-testid': 'approve', onclick: () => review('Approved') }, 'Approve');
  const reject = h('button', { class: 'reject', 'data-testid': 'reject', onclick: () => review('Rejected') }, 'Reject');

  async function review(approvalStatus) {
    approve.disabled = reject.disabled = true;
    try {
      const body = { approvalStatus };
      if (comment.value.trim()) body.description = comment.value.trim();
      const updated = await api(path, { method: 'PATCH', body });
      pkg.approvalStatus = updated.approvalStatus ?? approvalStatus;
      status.replaceChildren(badge(pkg.approvalStatus));
      message.replaceChildren(h('div', { class: 'notice' }, `Version ${pkg.version} is now ${pkg.approvalStatus === 'Approved' ? 'approved: the deployer publishes it to the endpoint' : 'rejected'}.`));
      await checkDeployment();
    } catch (error) {
      message.replaceChildren(errorBox(error));
    } finally {
      approve.disabled = pkg.approvalStatus === 'Approved';
      reject.disabled = pkg.approvalStatus === 'Rejected';
    }
  }

  async function checkDeployment() {
    const endpoint = await api('/api/endpoint');
    const alias = list(endpoint, 'aliases').find(a => a.group === group);
    if (alias && alias.packageId === pkg.id) {
      deployment.className = 'notice';
      deployment.replaceChildren(badge('Serving'), ` The endpoint serves this version for ${group} since ${when(alias.deployedAt)}. Try: `,
        h('code', {}, `curl -X POST ${location.origin}/models/${group}/invocations -H 'Content-Type: text/csv' --data-binary @rows.csv`));
    } else {
      deployment.className = 'muted';
      deployment.replaceChildren(
        pkg.approvalStatus === 'Approved' ? badge('Deploying') : '',
        alias ? ` The endpoint serves v${alias.version} for ${group}.` : ` Not deployed: ${group} has no version on the endpoint.`);
    }
  }

  approve.disabled = pkg.approvalStatus === 'Approved';
  reject.disabled = pkg.approvalStatus === 'Rejected';

  const roc = curve(pick(report, 'roc', 'rocCurve') ?? report.curves?.roc, ['fpr', 'falsePositiveRate', 'x'], ['tpr', 'truePositiveRate', 'y'], ['fpr', 'falsePositiveRates'], ['tpr', 'truePositiveRates']);
  const pr = curve(pick(report, 'pr', 'prCurve', 'precisionRecall', 'precisionRecallCurve') ?? report.curves?.pr, ['recall', 'x'], ['precision', 'y'], ['recall', 'recalls'], ['precision', 'precisions']);
  const matrix = confusionOf(pick(report, 'confusionMatrix', 'confusion'));
  const labels = labelsOf(report);
  const threshold = typeof report.threshold === 'number' ? report.threshold : 0.5;
  const cut = operatingPoint(report.confusionMatrix);
  const half = operatingPoint(report.confusionMatrixAtHalf);
  const marks = [];
  if (cut) marks.push({ points: [cut], color: '#c62828', dots: true, line: false, radius: 5.5, testid: 'roc-threshold', label: `labels at ${number(threshold, 3)}${report.thresholdRule && report.thresholdRule !== String(threshold) ? ` (${report.thresholdRule})` : ''}` });
  const champion = report.champion;
  const championRoc = champion ? curve(champion.rocCurve, ['fpr', 'falsePositiveRate', 'x'], ['tpr', 'truePositiveRate', 'y'], ['fpr'], ['tpr']) : [];
  if (half && threshold !== 0.5) marks.push({ points: [half], color: '#667085', dots: true, line: false, radius: 4.5, testid: 'roc-half', label: 'at 0.5' });

  main.replaceChildren(
    h('p', {}, h('a', { href: '#/registry' }, 'Registry'), ' / ', h('a', { href: `#/registry/${encodeURIComponent(group)}` }, group)),
    h('div', { class: 'row' }, h('h1', {}, `${group} v${pkg.version}`), status),
    h('p', { class: 'sub' }, `Package ${pkg.id} · registered ${when(pkg.createdAt)}`,
      pkg.lineage?.executionId ? [' by execution ', h('a', { href: `#/executions/${encodeURIComponent(pkg.lineage.executionId)}` }, pkg.lineage.executionId)] : '',
      ' · ', h('a', { href: `#/audit?target=${encodeURIComponent(pkg.id)}`, 'data-testid': 'audit-link' }, 'who approved or rejected it (audit)')),
    h('div', { class: 'cards' }, HEADLINE.filter(m => typeof metrics[m] === 'number').map(m =>
      h('div', { class: 'card' }, h('div', { class: 'k' }, LABELS[m] ?? m), h('div', { class: 'v', 'data-metric': m }, number(metrics[m], 3))))),
    thresholdNote(report, threshold),
    champion ? championPanel(champion, metrics) : null,
    h('div', { class: 'panel' },
      h('h2', { style: 'margin-top:0' }, 'Review'),
      deployment,
      h('p', {}, comment),
      h('div', { class: 'row' }, approve, reject, pkg.approvalDescription ? h('span', { class: 'muted' }, `Last comment: ${pkg.approvalDescription}`) : null),
      message),
    h('div', { class: 'grid' },
      h('div', { class: 'panel' }, h('h2', { style: 'margin-top:0' }, 'ROC curve', typeof metrics.auc === 'number' ? ` · AUC ${number(metrics.auc, 3)}` : ''),
        roc.length ? chart({ testid: 'roc-curve', xLabel: 'false positive rate', yLabel: 'true positive rate', xDomain: [0, 1], yDomain: [0, 1], legendBottomRight: true,
          series: [{ points: [[0, 0], [1, 1]], color: '#c3c9d2', dashed: true },
            ...(championRoc.length ? [{ points: championRoc, color: '#b26a00', label: `served v${champion.version} · AUC ${number(champion.metrics?.auc, 3)}` }] : []),
            { points: roc, color: '#1f4e79', label: championRoc.length ? `this version · AUC ${number(metrics.auc, 3)}` : null }, ...marks] }) : h('p', { class: 'muted' }, 'No ROC curve in the report.')),
      h('div', { class: 'panel' }, h('h2', { style: 'margin-top:0' }, 'Precision–recall curve'),
        pr.length ? chart({ testid: 'pr-curve', xLabel: 'recall', yLabel: 'precision', xDomain: [0, 1], yDomain: [0, 1],
          series: [{ points: pr, color: '#b26a00' }] }) : h('p', { class: 'muted' }, 'No precision–recall curve in the report.')),
      h('div', { class: 'panel' }, h('h2', { style: 'margin-top:0' }, 'Confusion matrix'),
        matrix ? confusion(matrix, labels) : h('p', { class: 'muted' }, 'No confusion matrix in the report.'))),
    h('h2', {}, 'Model'),
    h('div', { class: 'panel' }, h('dl', { class: 'kv' },
      Object.entries({ ...flat(pkg.parameters), artifact: pick(pkg.artifact ?? {}, 'sha256', 'Sha256', 'key') ?? JSON.stringify(pkg.artifact) })
        .map(([k, v]) => [h('dt', {}, k), h('dd', {}, h('code', {}, v))]))));

  await checkDeployment().catch(error => deployment.replaceChildren(errorBox(error)));
  return every(1500, checkDeployment);
}

/** The headline metrics, from report.metrics or the report itself (auc also read from rocAuc). */
export function metricsOf(report) {
  const source = { ...(report ?? {}), ...(report?.metrics ?? {}) };
  return { ...source, auc: pick(source, 'auc', 'rocAuc', 'roc_auc'), f1: pick(source, 'f1', 'f1Score') };
}

/** This version's metrics beside those of the version the endpoint served when it was evaluated (same test rows). */
function championPanel(champion, metrics) {
  const names = ['accuracy', 'precision', 'recall', 'f1', 'auc'].filter(m => typeof champion.metrics?.[m] === 'number' && typeof metrics[m] === 'number');
  return h('div', { class: 'panel', 'data-testid': 'champion' },
    h('h2', { style: 'margin-top:0' }, `Challenger vs champion (served v${champion.version})`),
    h('p', { class: 'sub' }, `Both scored on the same test rows; the champion at its own decision threshold (${number(champion.threshold, 4)}).`),
    h('table', {},
      h('thead', {}, h('tr', {}, h('th', {}, 'metric'), h('th', {}, 'this version'), h('th', {}, `served v${champion.version}`), h('th', {}, 'difference'))),
      h('tbody', {}, names.map(m => {
        const difference = metrics[m] - champion.metrics[m];
        return h('tr', {}, h('td', {}, LABELS[m] ?? m), h('td', {}, number(metrics[m], 4)), h('td', {}, number(champion.metrics[m], 4)),
          h('td', { class: difference >= 0 ? 'good' : 'bad' }, `${difference >= 0 ? '+' : '−'}${Math.abs(difference).toFixed(4)}`));
      }))));
}

/** (false positive rate, true positive rate) of a confusion matrix with named counts, or null. */
function operatingPoint(m) {
  if (!m || typeof m.truePositives !== 'number') return null;
  const negatives = m.falsePositives + m.trueNegatives, positives = m.truePositives + m.falseNegatives;
  return negatives && positives ? [m.falsePositives / negatives, m.truePositives / positives] : null;
}

/** Which cut the labels use and how it was chosen, with the label metrics at 0.5 beside it. */
function thresholdNote(report, threshold) {
  const half = report.confusionMatrixAtHalf;
  const how = report.thresholdRule == null ? 'the default'
    : /^[0-9.]+$/.test(report.thresholdRule) ? 'fixed by the DecisionThreshold parameter'
      : `chosen to maximise ${report.thresholdRule === 'f1' ? 'F1' : report.thresholdRule.replace('_', ' ')} on the winning configuration's out-of-fold predictions`;
  return h('p', { class: 'sub', 'data-testid': 'decision-threshold' },
    `Labels are positive when P(${report.positiveLabel ?? 'positive'}) ≥ ${number(threshold, 4)} (${how}).`,
    half && threshold !== 0.5 ? ` At 0.5: F1 ${number(half.f1, 3)}, accuracy ${number(half.accuracy, 3)}, balanced accuracy ${number(half.balancedAccuracy, 3)}.` : '');
}

/** Curve points from an array of objects or from two parallel arrays. */
function curve(value, xKeys, yKeys, xArrays, yArrays) {
  if (!value) return [];
  if (Array.isArray(value)) {
    return value.map(p => Array.isArray(p) ? p : [pick(p, ...xKeys), pick(p, ...yKeys)]).filter(p => typeof p[0] === 'number' && typeof p[1] === 'number').sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  }
  const xs = pick(value, ...xArrays), ys = pick(value, ...yArrays);
  if (Array.isArray(xs) && Array.isArray(ys)) return xs.map((x, i) => [x, ys[i]]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  if (Array.isArray(value.points)) return curve(value.points, xKeys, yKeys, xArrays, yArrays);
  return [];
}

/** [[TN, FP], [FN, TP]] from a nested array or named counts. */
function confusionOf(value) {
  if (!value) return null;
  if (Array.isArray(value) && value.length === 2) return value;
  if (Array.isArray(value.matrix)) return value.matrix;
  const tn = pick(value, 'trueNegatives', 'tn', 'TN'), fp = pick(value, 'falsePositives', 'fp', 'FP');
  const fn = pick(value, 'falseNegatives', 'fn', 'FN'), tp = pick(value, 'truePositives', 'tp', 'TP');
  return [tn, fp, fn, tp].every(v => typeof v === 'number') ? [[tn, fp], [fn, tp]] : null;
}

function labelsOf(report) {
  const labels = pick(report, 'labels', 'classes') ?? pick(report.confusionMatrix ?? {}, 'labels');
  if (Array.isArray(labels) && labels.length === 2) return labels.map(String);
  const negative = pick(report, 'negativeLabel'), positive = pick(report, 'positiveLabel');
  return [String(negative ?? 'negative'), String(positive ?? 'positive')];
}

function flat(object) {
  const out = {};
  for (const [k, v] of Object.entries(object ?? {})) out[k] = typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v);
  return out;
}
