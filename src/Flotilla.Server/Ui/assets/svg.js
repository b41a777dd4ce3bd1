// Charts drawn as SVG by hand: no chart library, no network, nothing to build.

const NS = 'http://www.w3.org/2000/svg';

export function s(tag, attributes = {}, ...children) {
  const element = document.createElementNS(NS, tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== undefined && value !== null) element.setAttribute(name, value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

const STATUS_FILL = {
  Succeeded: ['#e6f4ea', '#1a7f37'], Failed: ['#fdecea', '#c62828'], Executing: ['#fff4e0', '#b26a00'],
  Running: ['#fff4e0', '#b26a00'], Stopping: ['#fff4e0', '#b26a00'], Stopped: ['#eef0f3', '#667085'],
};

/**
 * The pipeline DAG: steps placed in layers by their longest dependency path, arrows for dependencies
 * (or the step order when the server sends none), boxes coloured by status.
 */
export function dag(steps) {
  const names = steps.map(step => step.name);
  const parents = steps.map((step, i) => {
    if (Array.isArray(step.dependsOn)) return step.dependsOn.filter(name => names.includes(name));
    return i === 0 ? [] : [names[i - 1]];
  });
  const depth = new Map();
  const depthOf = (i, seen = new Set()) => {
    if (depth.has(i)) return depth.get(i);
    if (seen.has(i)) return 0;
    seen.add(i);
    const d = parents[i].length ? 1 + Math.max(...parents[i].map(p => depthOf(names.indexOf(p), seen))) : 0;
    depth.set(i, d);
    return d;
  };
  steps.forEach((_, i) => depthOf(i));
  const layers = [];
  steps.forEach((_, i) => (layers[depth.get(i)] ??= []).push(i));

  const W = 176, H = 54, GX = 40, GY = 22, PAD = 12;
  const rows = Math.max(1, ...layers.map(l => l.length));
  const width = PAD * 2 + layers.length * W + (layers.length - 1) * GX;
  const height = PAD * 2 + rows * H + (rows - 1) * GY;
  const position = new Map();
  layers.forEach((layer, x) => layer.forEach((i, y) => {
    const offset = (rows - layer.length) * (H + GY) / 2;
    position.set(i, { x: PAD + x * (W + GX), y: PAD + offset + y * (H + GY) });
  }));

  // Scales down to the panel's width, never up: a short pipeline keeps its natural size.
  const svg = s('svg', { viewBox: `0 0 ${width} ${height}`, width: '100%', style: `max-width:${width}px;height:auto`, role: 'img', 'aria-label': 'Pipeline graph', 'data-testid': 'dag' },
    s('defs', {}, s('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' },
      s('path', { d: 'M0,0 L10,5 L0,10 z', fill: '#98a2b3' }))));
  steps.forEach((_, i) => parents[i].forEach(parent => {
    const from = position.get(names.indexOf(parent)), to = position.get(i);
    const x1 = from.x + W, y1 = from.y + H / 2, x2 = to.x - 2, y2 = to.y + H / 2, mx = (x1 + x2) / 2;
    svg.append(s('path', { d: `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`, fill: 'none', stroke: '#98a2b3', 'stroke-width': 1.5, 'marker-end': 'url(#arrow)' }));
  }));
  steps.forEach((step, i) => {
    const { x, y } = position.get(i);
    const [fill, stroke] = STATUS_FILL[step.status] ?? ['#fff', '#c3c9d2'];
    svg.append(s('g', { 'data-step': step.name, 'data-status': step.status ?? '' },
      s('rect', { x, y, width: W, height: H, rx: 9, fill, stroke, 'stroke-width': step.status === 'Executing' ? 2.5 : 1.5 }),
      s('text', { x: x + W / 2, y: y + 23, 'text-anchor': 'middle', 'font-weight': 600, 'font-size': 13, fill: '#1d2430' }, step.name),
      s('text', { x: x + W / 2, y: y + 41, 'text-anchor': 'middle', 'font-size': 11.5, fill: stroke }, step.detail)));
  });
  return svg;
}

function ticks(min, max, count = 5, integer = false) {
  const span = max - min || 1;
  const step = Math.pow(10, Math.floor(Math.log10(span / count)));
  let nice = [1, 2, 5, 10].map(m => m * step).find(st => span / st <= count) ?? step * 10;
  if (integer) nice = Math.max(1, Math.round(nice));
  const out = [];
  for (let v = Math.ceil(min / nice) * nice; v <= max + 1e-9; v += nice) out.push(+v.toFixed(10));
  return out;
}

/**
 * A line/scatter chart. series: [{ points: [[x, y]], color, step?, dots?, radius?, line?, dashed?, label, testid? }]
 * (a series with a radius is a marked point, e.g. an operating point on a ROC curve);
 * xInteger keeps x ticks on whole numbers (counts); legendBottomRight moves the legend out of the top left.
 */
export function chart({ series, xDomain, yDomain, xLabel, yLabel, width = 420, height = 300, testid, xInteger = false, legendBottomRight = false }) {
  const M = { l: 60, r: 14, t: 14, b: 42 };
  const all = series.flatMap(se => se.points);
  const [x0, x1] = xDomain ?? [Math.min(...all.map(p => p[0])), Math.max(...all.map(p => p[0]))];
  let [y0, y1] = yDomain ?? [Math.min(...all.map(p => p[1])), Math.max(...all.map(p => p[1]))];
  if (y0 === y1) { y0 -= 0.01; y1 += 0.01; }
  if (!yDomain) {
    // A margin so the extreme points are not drawn on the frame.
    const pad = (y1 - y0) * 0.06;
    y0 -= pad;
    y1 += pad;
  }
  const iw = width - M.l - M.r, ih = height - M.t - M.b;
  const X = v => M.l + (x1 === x0 ? iw / 2 : (v - x0) / (x1 - x0) * iw);
  const Y = v => M.t + ih - (v - y0) / (y1 - y0) * ih;
  const svg = s('svg', { viewBox: `0 0 ${width} ${height}`, class: 'chart', role: 'img', 'aria-label': `${yLabel} by ${xLabel}`, 'data-testid': testid });
  for (const t of ticks(y0, y1)) {
    svg.append(s('line', { x1: M.l, x2: M.l + iw, y1: Y(t), y2: Y(t), stroke: '#eef0f3' }),
      s('text', { x: M.l - 6, y: Y(t) + 4, 'text-anchor': 'end', 'font-size': 11, fill: '#667085' }, t));
  }
  for (const t of ticks(x0, x1, 6, xInteger)) {
    svg.append(s('line', { x1: X(t), x2: X(t), y1: M.t + ih, y2: M.t + ih + 4, stroke: '#98a2b3' }),
      s('text', { x: X(t), y: M.t + ih + 16, 'text-anchor': 'middle', 'font-size': 11, fill: '#667085' }, t));
  }
  svg.append(s('rect', { x: M.l, y: M.t, width: iw, height: ih, fill: 'none', stroke: '#c3c9d2' }),
    s('text', { x: M.l + iw / 2, y: height - 6, 'text-anchor': 'middle', 'font-size': 12, fill: '#1d2430' }, xLabel),
    s('text', { x: 14, y: M.t + ih / 2, 'text-anchor': 'middle', 'font-size': 12, fill: '#1d2430', transform: `rotate(-90 14 ${M.t + ih / 2})` }, yLabel));
  for (const se of series) {
    if (!se.points.length) continue;
    if (se.line !== false) {
      let d = '';
      se.points.forEach(([x, y], i) => {
        if (i === 0) d += `M${X(x)},${Y(y)}`;
        else if (se.step) d += `H${X(x)}V${Y(y)}`;
        else d += `L${X(x)},${Y(y)}`;
      });
      svg.append(s('path', { d, fill: 'none', stroke: se.color, 'stroke-width': 2, 'stroke-dasharray': se.dashed ? '4 4' : null }));
    }
    if (se.dots) {
      for (const [x, y] of se.points) {
        svg.append(s('circle', { cx: X(x), cy: Y(y), r: se.radius ?? 3.2, fill: se.color, opacity: se.radius ? 1 : 0.75, stroke: se.radius ? '#fff' : null, 'data-testid': se.testid }));
      }
    }
  }
  const legend = series.filter(se => se.label);
  // Bottom right keeps the legend off curves that hug the top left (ROC).
  const lx = legendBottomRight ? M.l + iw - 236 : M.l + 10;
  const ly = legendBottomRight ? M.t + ih - 8 - legend.length * 16 : M.t + 8;
  legend.forEach((se, i) => svg.append(
    s('rect', { x: lx, y: ly + i * 16, width: 10, height: 10, fill: se.color, rx: 2 }),
    s('text', { x: lx + 15, y: ly + 9 + i * 16, 'font-size': 11.5, fill: '#1d2430' }, se.label)));
  return svg;
}

/** A 2×2 confusion matrix with counts and row shares, cells shaded by share. */
export function confusion(matrix, labels) {
  const size = 300, M = { l: 96, t: 46 }, cell = (size - 20) / 2;
  const svg = s('svg', { viewBox: `0 0 ${M.l + 2 * cell + 10} ${M.t + 2 * cell + 10}`, class: 'chart', role: 'img', 'aria-label': 'Confusion matrix', 'data-testid': 'confusion-matrix' });
  svg.append(s('text', { x: M.l + cell, y: 14, 'text-anchor': 'middle', 'font-size': 12, fill: '#667085' }, 'predicted'));
  labels.forEach((label, j) => svg.append(s('text', { x: M.l + j * cell + cell / 2, y: M.t - 10, 'text-anchor': 'middle', 'font-size': 12.5, 'font-weight': 600 }, label)));
  labels.forEach((label, i) => svg.append(s('text', { x: M.l - 10, y: M.t + i * cell + cell / 2 + 4, 'text-anchor': 'end', 'font-size': 12.5, 'font-weight': 600 }, label)));
  svg.append(s('text', { x: 14, y: M.t + cell, 'text-anchor': 'middle', 'font-size': 12, fill: '#667085', transform: `rotate(-90 14 ${M.t + cell})` }, 'actual'));
  matrix.forEach((row, i) => {
    const total = row.reduce((a, b) => a + b, 0) || 1;
    row.forEach((count, j) => {
      const share = count / total;
      const good = i === j;
      const fill = good ? `rgba(26,127,55,${0.12 + share * 0.6})` : `rgba(198,40,40,${0.08 + share * 0.6})`;
      svg.append(s('rect', { x: M.l + j * cell, y: M.t + i * cell, width: cell - 4, height: cell - 4, rx: 8, fill }),
        s('text', { x: M.l + j * cell + cell / 2 - 2, y: M.t + i * cell + cell / 2 - 2, 'text-anchor': 'middle', 'font-size': 22, 'font-weight': 650 }, count),
        s('text', { x: M.l + j * cell + cell / 2 - 2, y: M.t + i * cell + cell / 2 + 18, 'text-anchor': 'middle', 'font-size': 12, fill: '#475467' }, `${(share * 100).toFixed(1)}%`));
    });
  });
  return svg;
}
