import { api } from '../api.js';
import { every } from '../app.js';
import { badge, errorBox, h, number, when } from '../dom.js';
import { chart, confusion } from '../svg.js';

const HEADLINE = ['accuracy', 'precision', 'recall', 'f1', 'auc', 'averagePrecision', 'logLoss'];
const LABELS = { f1: 'F1', auc: 'AUC', averagePrecision: 'avg precision', logLoss: 'log loss' };

export async function render(main, id) {
  const path = `/api/registry/packages/${encodeURIComponent(id)}`;
  /** @type {import('../contracts.js').Package} */
  const pkg = await api(path);
  const group = pkg.group;
  /** @type {import('../contracts.js').EvaluationReport} */
  const report = pkg.evaluationReport ?? {};
  const metrics = report;

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
      pkg.approvalStatus = updated.approvalStatus;
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
    /** @type {import('../contracts.js').EndpointView} */
    const endpoint = await api('/api/endpoint');
    const alias = endpoint.aliases.find(a => a.group === group);
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

  const roc = sorted((report.rocCurve ?? []).map(p => [p.falsePositiveRate, p.truePositiveRate]));
  const pr = sorted((report.precisionRecallCurve ?? []).map(p => [p.recall, p.precision]));
  const matrix = confusionOf(report.confusionMatrix);
  const labels = [report.negativeLabel ?? 'negative', report.positiveLabel ?? 'positive'];
  const threshold = typeof report.threshold === 'number' ? report.threshold : 0.5;
  const cut = operatingPoint(report.confusionMatrix);
  const half = operatingPoint(report.confusionMatrixAtHalf);
  const marks = [];
  if (cut) marks.push({ points: [cut], color: '#c62828', dots: true, line: false, radius: 5.5, testid: 'roc-threshold', label: `labels at ${number(threshold, 3)}${report.thresholdRule && report.thresholdRule !== String(threshold) ? ` (${report.thresholdRule})` : ''}` });
  const champion = report.champion;
  const championRoc = champion ? sorted(champion.rocCurve.map(p => [p.falsePositiveRate, p.truePositiveRate])) : [];
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
    Array.isArray(report.ensemble) && report.ensemble.length ? ensemblePanel(report.ensemble) : null,
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
      Object.entries({ ...flat(pkg.parameters), artifact: pkg.artifact.sha256 })
        .map(([k, v]) => [h('dt', {}, k), h('dd', {}, h('code', {}, v))]))));

  await checkDeployment().catch(error => deployment.replaceChildren(errorBox(error)));
  return every(1500, checkDeployment);
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

/** An ensemble's members: the trial each was refitted from, its family and parameters, its weight in the mean of probabilities. */
function ensemblePanel(members) {
  return h('div', { class: 'panel', 'data-testid': 'ensemble' },
    h('h2', { style: 'margin-top:0' }, `Ensemble of ${members.length}`),
    h('p', { class: 'sub' }, 'Chosen by ensemble selection on the trials\' out-of-fold predictions; the model scores the weighted mean of the members\' probabilities.'),
    h('table', {},
      h('thead', {}, h('tr', {}, h('th', {}, 'weight'), h('th', {}, 'family'), h('th', {}, 'trial'), h('th', {}, 'CV score'), h('th', {}, 'hyper-parameters'))),
      h('tbody', {}, members.map(m => h('tr', {},
        h('td', {}, number(m.weight, 3)), h('td', {}, m.algorithm), h('td', {}, m.trial == null ? '' : `#${m.trial}`),
        h('td', {}, typeof m.crossValidationScore === 'number' ? number(m.crossValidationScore, 4) : ''),
        h('td', {}, h('code', {}, Object.entries(m.parameters).map(([k, v]) => `${k}=${v}`).join(' '))))))));
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

/** Curve points in drawing order, the ones with both coordinates only. */
function sorted(points) {
  return points.filter(p => typeof p[0] === 'number' && typeof p[1] === 'number').sort((a, b) => a[0] - b[0] || a[1] - b[1]);
}

/** [[TN, FP], [FN, TP]] of a confusion matrix, or null without one. */
function confusionOf(m) {
  return m ? [[m.trueNegatives, m.falsePositives], [m.falseNegatives, m.truePositives]] : null;
}

function flat(object) {
  const out = {};
  for (const [k, v] of Object.entries(object ?? {})) out[k] = typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v);
  return out;
}
