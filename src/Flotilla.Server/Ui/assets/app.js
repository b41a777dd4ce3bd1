// The router: hash routes, so the server serves one page and any deep link works without a fallback route.
import { apiKey, clearApiKey, setApiKey } from './api.js';
import { errorBox, h } from './dom.js';
import * as audit from './pages/audit.js';
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
  [/^#\/audit(?:\?(.*))?$/, audit, 'audit'],
];

let cleanup = () => {};

async function route() {
  cleanup();
  cleanup = () => {};
  if (!apiKey()) {
    login();
    return;
  }
  const hash = location.hash || '#/executions';
  const match = routes.find(([pattern]) => pattern.test(hash));
  const main = document.getElementById('page');
  document.querySelectorAll('[data-nav]').forEach(a => a.classList.toggle('active', match?.[2] === a.dataset.nav));
  if (!match) {
    main.replaceChildren(h('h1', {}, 'Not found'), h('p', {}, 'No page at ', h('code', {}, hash), '. ', h('a', { href: '#/executions' }, 'Executions')));
    return;
  }
  const [pattern, page] = match;
  const params = pattern.exec(hash).slice(1).map(p => p === undefined ? undefined : decodeURIComponent(p));
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

/** The key form: shown on first visit and whenever the server answers 401 (a revoked or expired key). */
function login(message) {
  const main = document.getElementById('page');
  const input = h('input', { type: 'password', name: 'key', autocomplete: 'off', placeholder: 'flk_…', 'aria-label': 'API key', size: 60 });
  const form = h('form', { class: 'panel login', 'data-testid': 'login',
    onsubmit: event => { event.preventDefault(); if (input.value.trim()) { setApiKey(input.value); route(); } } },
    h('p', {}, 'Paste an API key. ', h('code', {}, 'flotilla server'), ' writes the first one to ', h('code', {}, '<data folder>/admin.key'),
      '; make more with ', h('code', {}, 'flotilla keys create NAME --role viewer'), '.'),
    input, ' ', h('button', { type: 'submit' }, 'Log in'));
  main.replaceChildren(h('h1', {}, 'Log in'), message ? h('p', { class: 'error' }, message) : null, form);
  input.focus();
}

// A link from `flotilla demo` carries the key in the fragment, which browsers never send to a server:
// keep it for this tab and take it out of the address bar and history.
const fromLink = /^#key=([^&]+)/.exec(location.hash);
if (fromLink) {
  setApiKey(decodeURIComponent(fromLink[1]));
  history.replaceState(null, '', `${location.pathname}#/executions`);
}

window.addEventListener('flotilla:unauthenticated', () => {
  clearApiKey();
  login('The server did not accept the key (unknown, revoked or expired).');
});
document.getElementById('logout')?.addEventListener('click', event => { event.preventDefault(); clearApiKey(); login(); });
window.addEventListener('hashchange', route);
route();
