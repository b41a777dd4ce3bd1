// The router: hash routes, so the server serves one page and any deep link works without a fallback route.
import { errorBox, h } from './dom.js';
import * as executions from './pages/executions.js';
import * as execution from './pages/execution.js';
import * as datasets from './pages/datasets.js';
import * as registry from './pages/registry.js';
import * as group from './pages/group.js';
import * as modelPackage from './pages/package.js';
import * as endpoint from './pages/endpoint.js';

const routes = [
  [/^#\/executions\/([^/]+)$/, execution, 'executions'],
  [/^#\/executions$/, executions, 'executions'],
  [/^#\/datasets$/, datasets, 'datasets'],
  [/^#\/registry\/packages\/([^/]+)$/, modelPackage, 'registry'],
  [/^#\/registry\/([^/]+)$/, group, 'registry'],
  [/^#\/registry$/, registry, 'registry'],
  [/^#\/endpoint$/, endpoint, 'endpoint'],
];

let cleanup = () => {};

async function route() {
  cleanup();
  cleanup = () => {};
  const hash = location.hash || '#/executions';
  const match = routes.find(([pattern]) => pattern.test(hash));
  const main = document.getElementById('page');
  document.querySelectorAll('[data-nav]').forEach(a => a.classList.toggle('active', match?.[2] === a.dataset.nav));
  if (!match) {
    main.replaceChildren(h('h1', {}, 'Not found'), h('p', {}, 'No page at ', h('code', {}, hash), '. ', h('a', { href: '#/executions' }, 'Executions')));
    return;
  }
  const [pattern, page] = match;
  const params = pattern.exec(hash).slice(1).map(decodeURIComponent);
  try {
    cleanup = (await page.render(main, ...params)) ?? (() => {});
  } catch (error) {
    main.replaceChildren(errorBox(error));
  }
}

/** Re-runs load() every interval while the page is shown; the returned function stops it. */
export function every(interval, load) {
  let stopped = false;
  let timer;
  const tick = async () => {
    if (stopped) return;
    try { await load(); } catch { /* the page shows its own error; keep polling */ }
    if (!stopped) timer = setTimeout(tick, interval);
  };
  timer = setTimeout(tick, interval);
  return () => { stopped = true; clearTimeout(timer); };
}

window.addEventListener('hashchange', route);
route();
