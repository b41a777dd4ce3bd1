import { api } from '../api.js';
import { errorBox, h, table, when } from '../dom.js';

/** The audit log (approvers and admins): every state-changing request, allowed or refused; filters from the hash query. */
export async function render(main, query) {
  const filters = new URLSearchParams(query ?? '');
  main.replaceChildren(h('h1', {}, 'Audit'),
    h('p', { class: 'sub' }, 'Every request that could change something, allowed or refused, newest first.',
      filters.toString() ? [' Filtered by ', h('code', {}, filters.toString()), ' — ', h('a', { href: '#/audit' }, 'show all'), '.'] : ''));
  try {
    const entries = await api(`/api/audit?${filters}`);
    main.append(h('div', { class: 'panel', 'data-testid': 'audit' }, table(entries, [
      { title: 'When', value: e => when(e.at) },
      { title: 'Who', value: e => h('a', { href: `#/audit?actor=${encodeURIComponent(e.actor)}` }, e.actor) },
      { title: 'Roles', value: e => e.roles.join(', ') },
      { title: 'Action', value: e => h('code', {}, e.action) },
      { title: 'Target', value: e => e.target ? h('a', { href: `#/audit?target=${encodeURIComponent(e.target)}` }, e.target) : '—' },
      { title: 'Status', value: e => h('span', { class: e.status < 400 ? 'ok' : 'error' }, String(e.status)), num: true },
      { title: 'Client', value: e => e.client },
      { title: 'Times', value: e => String(e.repeats), num: true },
    ], 'Nothing audited yet.')));
  } catch (error) {
    main.append(errorBox(error));
  }
}
