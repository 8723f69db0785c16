// SPDX-License-Identifier: Apache-2.0
// The periskop browser UI: services, errors, occurrences, targets.
// Every scraped string is attacker-controlled: it is only ever set as
// text (textContent), never parsed as HTML.
'use strict';

const main = document.getElementById('main');
const state = { sort: 'latest', severity: 'all', q: '', occ: 0 };

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'onclick' || k === 'oninput' || k === 'onchange') e[k] = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

async function api(path, opts) {
  const r = await fetch(path, opts);
  if (!r.ok && r.status !== 204) throw new Error(path + ': HTTP ' + r.status);
  return r.status === 204 ? null : r.json();
}

function when(unix) {
  if (!unix) return '';
  const d = new Date(unix * 1000);
  const s = Math.round((Date.now() - d.getTime()) / 1000);
  const rel = s < 60 ? s + ' s ago' : s < 3600 ? Math.round(s / 60) + ' min ago'
    : s < 86400 ? Math.round(s / 3600) + ' h ago' : Math.round(s / 86400) + ' d ago';
  return rel + ' (' + d.toISOString().replace('T', ' ').slice(0, 19) + ' UTC)';
}

function route() {
  const h = location.hash.replace(/^#\/?/, '');
  if (h === 'targets') return { view: 'targets' };
  const m = h.match(/^([^/]+)(?:\/errors\/(.*))?$/);
  if (!m) return { view: 'home' };
  return { view: 'service', service: decodeURIComponent(m[1]),
    key: m[2] !== undefined ? decodeURIComponent(m[2]) : null };
}

function link(service, key) {
  return '#/' + encodeURIComponent(service) +
    (key !== null && key !== undefined ? '/errors/' + encodeURIComponent(key) : '');
}

async function render() {
  const r = route();
  try {
    if (r.view === 'targets') await renderTargets();
    else await renderServices(r);
  } catch (e) {
    main.replaceChildren(el('p', { class: 'down' }, e.message));
  }
}

async function renderServices(r) {
  const services = await api('services/');
  const side = el('ul', { class: 'list' });
  for (const s of services) {
    side.append(el('li', { class: s === r.service ? 'sel' : '',
      onclick: () => { location.hash = link(s); } }, s));
  }
  const cols = [el('div', { class: 'col' }, el('h3', {}, 'Services'), side)];
  if (r.service) {
    const errors = await api('services/' + encodeURIComponent(r.service) + '/errors/');
    cols.push(errorList(r, errors));
    const cur = errors.find((e) => e.aggregation_key === r.key);
    if (cur) cols.push(errorDetail(r.service, cur));
  } else if (!services.length) {
    cols.push(el('p', { class: 'muted' }, 'No services yet.'));
  }
  main.replaceChildren(...cols);
}

function errorList(r, errors) {
  const q = state.q.toLowerCase();
  let list = errors.filter((e) => state.severity === 'all' || e.severity === state.severity)
    .filter((e) => !q || JSON.stringify(e).toLowerCase().includes(q));
  const latest = (e) => (e.latest_errors[0] || {}).timestamp || 0;
  list.sort(state.sort === 'count' ? (a, b) => b.total_count - a.total_count
    : (a, b) => latest(b) - latest(a));
  const ul = el('ul', { class: 'list' });
  for (const e of list) {
    ul.append(el('li', { class: e.aggregation_key === r.key ? 'sel' : '',
      onclick: () => { state.occ = 0; location.hash = link(r.service, e.aggregation_key); } },
      el('span', { class: 'sev sev-' + e.severity }, e.severity), ' ',
      e.aggregation_key, ' ', el('span', { class: 'badge' }, e.total_count),
      e.regressed ? el('span', { class: 'badge' }, 'regression') : null,
      el('div', { class: 'muted' }, 'last ' + when(latest(e)))));
  }
  const sort = el('select', { onchange: (ev) => { state.sort = ev.target.value; render(); } },
    el('option', { value: 'latest' }, 'latest'), el('option', { value: 'count' }, 'count'));
  sort.value = state.sort;
  const sev = el('select', { onchange: (ev) => { state.severity = ev.target.value; render(); } },
    ...['all', 'error', 'warning', 'info'].map((s) => el('option', { value: s }, s)));
  sev.value = state.severity;
  const search = el('input', { type: 'search', placeholder: 'search', value: state.q });
  search.oninput = (ev) => { state.q = ev.target.value; clearTimeout(search.t);
    search.t = setTimeout(render, 200); };
  return el('div', { class: 'col' }, el('h3', {}, r.service),
    el('div', { class: 'tools' }, sort, sev, search),
    list.length ? ul : el('p', { class: 'muted' }, 'No errors.'));
}

function causeChain(err) {
  const out = [];
  for (let c = err.cause, n = 0; c && n < 64; c = c.cause, n++) {
    out.push(el('h4', {}, 'Caused by ', c.class || ''), el('pre', {}, c.message || ''));
    if (c.stacktrace && c.stacktrace.length) out.push(el('pre', {}, c.stacktrace.join('\n')));
  }
  return out;
}

function curlOf(h) {
  const q = (s) => "'" + String(s).replace(/'/g, "'\\''") + "'";
  let cmd = 'curl -X ' + q(h.request_method || 'GET') + ' ' + q(h.request_url || '');
  for (const [k, v] of Object.entries(h.request_headers || {})) cmd += ' -H ' + q(k + ': ' + v);
  if (h.request_body) cmd += ' --data ' + q(h.request_body);
  return cmd;
}

function errorDetail(service, e) {
  const n = e.latest_errors.length;
  if (state.occ >= n) state.occ = 0;
  const o = e.latest_errors[state.occ];
  const parts = [el('h3', {}, e.aggregation_key),
    el('p', {}, el('span', { class: 'sev sev-' + e.severity }, e.severity),
      ' · ', e.total_count, ' occurrences · first ', when(e.created_at)),
    el('div', { class: 'tools' },
      el('button', { onclick: async () => {
        await api('services/' + encodeURIComponent(service) + '/errors/' +
          encodeURIComponent(e.aggregation_key) + '/', { method: 'DELETE' });
        location.hash = link(service);
      } }, 'Resolve'),
      el('button', { onclick: () => { state.occ = Math.max(0, state.occ - 1); render(); } }, '‹ newer'),
      el('span', { class: 'muted' }, n ? (state.occ + 1) + ' of ' + n : 'none'),
      el('button', { onclick: () => { state.occ = Math.min(n - 1, state.occ + 1); render(); } }, 'older ›'))];
  if (o) {
    parts.push(el('p', { class: 'muted' }, when(o.timestamp), ' · ', o.uuid),
      el('h4', {}, o.error.class || ''), el('pre', {}, o.error.message || ''));
    if (o.error.stacktrace && o.error.stacktrace.length)
      parts.push(el('pre', {}, o.error.stacktrace.join('\n')));
    parts.push(...causeChain(o.error));
    const h = o.http_context;
    if (h) {
      const t = el('table', {}, el('tr', {}, el('th', {}, 'method'), el('td', {}, h.request_method)),
        el('tr', {}, el('th', {}, 'URL'), el('td', {}, h.request_url)));
      for (const [k, v] of Object.entries(h.request_headers || {}))
        t.append(el('tr', {}, el('th', {}, k), el('td', {}, v)));
      if (h.request_body) t.append(el('tr', {}, el('th', {}, 'body'), el('td', {}, el('pre', {}, h.request_body))));
      parts.push(el('h4', {}, 'HTTP context'), t, el('h4', {}, 'curl'), el('pre', {}, curlOf(h)));
    }
  }
  return el('div', { class: 'wide' }, ...parts);
}

async function renderTargets() {
  const targets = await api('targets/');
  const t = el('table', {}, el('tr', {}, el('th', {}, 'service'), el('th', {}, 'endpoint')));
  for (const [svc, list] of Object.entries(targets))
    for (const x of list) t.append(el('tr', {}, el('td', {}, svc), el('td', {}, x.endpoint)));
  main.replaceChildren(el('div', { class: 'wide' }, el('h3', {}, 'Targets'), t));
}

window.addEventListener('hashchange', render);
setInterval(() => { if (!document.hidden && !document.activeElement.matches('input')) render(); }, 10000);
render();
