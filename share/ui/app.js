/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The periskop browser UI: services, their errors, one error's occurrences,
 * and the scrape targets.  Plain JavaScript without a build step, so it
 * runs under the strict Content-Security-Policy periskop-serve sends.
 * It is an ES module, so nothing leaks into the global scope.  Every
 * scraped string is attacker-controlled: it only ever reaches the page as
 * text (textContent, text nodes, attribute values), never as HTML.
 */
const REFRESH_MS = 10000;
const ROW_H = 58;		/* must match .vrow's height in style.css */
const OVERSCAN = 8;
const SVG_NS = 'http://www.w3.org/2000/svg';
const SEVERITIES = ['all', 'error', 'warning', 'info'];
const SORTS = ['latest', 'count', 'first'];
const STATUSES = ['unresolved', 'resolved', 'ignored', 'all'];
const DEFAULTS = { q: '', sort: 'latest', sev: 'all',
    status: 'unresolved' };

const $ = (id) => document.getElementById(id);
const ui = {
	body: document.body, banner: $('banner'),
	updated: $('updated'), serviceList: $('service-list'),
	servicesCount: $('services-count'), svcName: $('svc-name'),
	summary: $('list-summary'), svcChart: $('svc-chart'),
	search: $('search'), status: $('status-filter'),
	sev: $('severity-filter'), sort: $('sort'), list: $('list'),
	spacer: $('list-spacer'), rows: $('list-rows'),
	empty: $('list-empty'), detail: $('detail'), home: $('home'),
	targets: $('targets'), help: $('help'), toast: $('toast')
};

const state = {
	route: { view: 'home', service: null, key: null },
	services: [],
	servicesLoaded: false,
	service: null,		/* the service whose errors are loaded */
	errors: null,		/* every error of it, any status */
	byKey: new Map(),
	filtered: [],
	cursor: -1,		/* the highlighted row, for j/k */
	homeCursor: -1,
	key: null,
	detail: null,		/* the open error */
	detailSig: '',
	occ: 0,			/* index of the occurrence shown */
	chartSpan: 'day',
	svcCounts: null,
	homeCounts: new Map(),
	refreshMs: REFRESH_MS,
	haveDetailApi: true,
	haveCountsApi: true,
	lastLoad: 0,
	seq: 0,
	filters: Object.assign({}, DEFAULTS)
};

/* --- small helpers --- */

/*
 * Builds an element.  Props: "class", "text", "on<event>" handlers,
 * anything else is an attribute.  Children are nodes or strings (made
 * text nodes, so markup in them stays text).
 */
function el(tag, props, ...kids) {
	const e = document.createElement(tag);
	setProps(e, props);
	append(e, kids);
	return e;
}

function svg(tag, props, ...kids) {
	const e = document.createElementNS(SVG_NS, tag);
	setProps(e, props);
	append(e, kids);
	return e;
}

function setProps(e, props) {
	for (const [k, v] of Object.entries(props || {})) {
		if (v === null || v === undefined || v === false)
			continue;
		if (k === 'class')
			e.setAttribute('class', v);
		else if (k === 'text')
			e.textContent = String(v);
		else if (k.startsWith('on'))
			e.addEventListener(k.slice(2), v);
		else
			e.setAttribute(k, v === true ? '' : String(v));
	}
}

function append(e, kids) {
	for (const c of kids.flat()) {
		if (c === null || c === undefined || c === false)
			continue;
		e.append(c instanceof Node ? c :
		    document.createTextNode(String(c)));
	}
}

function str(v) {
	if (v === null || v === undefined)
		return '';
	return typeof v === 'string' ? v : JSON.stringify(v);
}

function enc(s) {
	return encodeURIComponent(s);
}

function dec(s) {
	try {
		return decodeURIComponent(s);
	} catch (e) {
		return s;
	}
}

function num(n) {
	return Number(n || 0).toLocaleString('en-US');
}

function pad(n) {
	return String(n).padStart(2, '0');
}

function absTime(unix) {
	const d = new Date(unix * 1000);
	return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' +
	    pad(d.getDate()) + ' ' + pad(d.getHours()) + ':' +
	    pad(d.getMinutes()) + ':' + pad(d.getSeconds());
}

function relTime(unix) {
	let s = Math.round(Date.now() / 1000 - unix);
	const future = s < 0;
	s = Math.abs(s);
	let r;
	if (s < 45)
		r = s + ' s';
	else if (s < 3600)
		r = Math.round(s / 60) + ' min';
	else if (s < 86400 * 2)
		r = Math.round(s / 3600) + ' h';
	else if (s < 86400 * 60)
		r = Math.round(s / 86400) + ' d';
	else if (s < 86400 * 730)
		r = Math.round(s / 86400 / 30) + ' mo';
	else
		r = Math.round(s / 86400 / 365) + ' y';
	return future ? 'in ' + r : r + ' ago';
}

/* A <time> showing "5 min ago", the absolute time beside or in its title. */
function when(unix, long) {
	if (!unix)
		return el('span', { class: 'muted', text: 'never' });
	const iso = new Date(unix * 1000).toISOString();
	if (long)
		return el('time', { datetime: iso, title: iso },
		    relTime(unix), el('span', { class: 'abs',
		    text: absTime(unix) }));
	return el('time', { datetime: iso,
	    title: absTime(unix) + ' (' + iso + ')',
	    text: relTime(unix) });
}

let toastTimer = 0;
function toast(msg) {
	ui.toast.textContent = msg;
	ui.toast.hidden = false;
	clearTimeout(toastTimer);
	toastTimer = setTimeout(() => { ui.toast.hidden = true; }, 2500);
}

function banner(msg) {
	ui.banner.textContent = msg || '';
	ui.banner.hidden = !msg;
}

/* --- the API, through relative URLs so a path prefix works --- */

function authHeaders() {
	const t = sessionStorage.getItem('periskop-token');
	return t ? { Authorization: 'Bearer ' + t } : {};
}

class HttpError extends Error {
	constructor(path, status, text) {
		super(path + ': HTTP ' + status +
		    (text ? ': ' + text.trim().slice(0, 200) : ''));
		this.status = status;
	}
}

async function get(path) {
	const r = await fetch(path, { cache: 'no-store',
	    headers: { Accept: 'application/json' } });
	if (!r.ok)
		throw new HttpError(path, r.status, await r.text());
	return r.json();
}

/* Like get, but null when the server does not have this (yet). */
async function getOptional(path) {
	try {
		return await get(path);
	} catch (e) {
		if (e.status === 404 || e.status === 405 ||
		    e.status === 400 || e.status === 501)
			return null;
		throw e;
	}
}

function svcPath(s) {
	return 'services/' + enc(s) + '/';
}

function errPath(s, key) {
	return svcPath(s) + 'errors/' + enc(key) + '/';
}

/* --- routes: #/{service}/errors/{key}?q=..&sort=.. --- */

function parseHash() {
	let h = location.hash.replace(/^#\/?/, '');
	let qs = '';
	const qi = h.indexOf('?');
	if (qi >= 0) {
		qs = h.slice(qi + 1);
		h = h.slice(0, qi);
	}
	const r = { view: 'home', service: null, key: null,
	    params: new URLSearchParams(qs) };
	if (h === '')
		return r;
	if (h === 'targets' || h === 'targets/') {
		r.view = 'targets';
		return r;
	}
	const i = h.indexOf('/');
	r.service = dec(i < 0 ? h : h.slice(0, i));
	r.view = 'list';
	const rest = i < 0 ? '' : h.slice(i + 1);
	if (rest.startsWith('errors/') && rest.length > 7) {
		r.key = dec(rest.slice(7));
		r.view = 'detail';
	}
	return r;
}

function query(extra) {
	const p = new URLSearchParams();
	for (const k of Object.keys(DEFAULTS))
		if (state.filters[k] !== DEFAULTS[k])
			p.set(k, state.filters[k]);
	for (const [k, v] of Object.entries(extra || {}))
		if (v)
			p.set(k, v);
	const s = p.toString();
	return s ? '?' + s : '';
}

function link(service, key, extra) {
	if (service === null || service === undefined)
		return '#/';
	return '#/' + enc(service) + '/errors/' +
	    (key !== null && key !== undefined ? enc(key) : '') +
	    query(extra);
}

function currentLink() {
	const r = state.route;
	if (r.view === 'targets')
		return '#/targets';
	const o = state.detail && state.occ > 0 ?
	    occurrences(state.detail)[state.occ] : null;
	return link(r.service, r.key, o ? occLink(o, state.occ) : null);
}

/* Records filters and occurrence in the address without a new entry. */
function syncHash() {
	const h = currentLink();
	if (h !== location.hash)
		history.replaceState(null, '', h);
}

function go(hash) {
	if (hash === location.hash)
		onRoute();
	else
		location.hash = hash;
}

/* --- data --- */

function latestOf(e) {
	const o = e.latest_errors && e.latest_errors[0];
	return e.last_seen || (o && o.timestamp) || e.created_at || 0;
}

function firstOf(e) {
	const c = e.created_at || 0, f = e.first_seen || 0;
	return c && f ? Math.min(c, f) : c || f;
}

function statusOf(e) {
	return e.status || 'unresolved';
}

/* What the search looks through, lower-cased once per load. */
function haystack(e) {
	const parts = [e.aggregation_key, e.severity];
	for (const o of e.latest_errors || []) {
		const x = o.error || {};
		parts.push(str(x.class), str(x.message));
		for (let c = x.cause, n = 0; c && n < 16; c = c.cause, n++) {
			if (typeof c !== 'object') {
				parts.push(str(c));
				break;
			}
			parts.push(str(c.class), str(c.message));
		}
		if (o.http_context)
			parts.push(str(o.http_context.request_url));
	}
	return parts.join('\n').toLowerCase();
}

function prepare(list) {
	for (const e of list) {
		e._hay = haystack(e);
		e._latest = latestOf(e);
		e._first = firstOf(e);
		const o = (e.latest_errors || [])[0];
		const x = (o && o.error) || {};
		e._class = str(x.class);
		e._message = str(x.message).split('\n')[0];
	}
	return list;
}

async function loadServices() {
	const s = await get('services/');
	state.services = Array.isArray(s) ? s : [];
	state.servicesLoaded = true;
}

async function loadErrors(service) {
	/* The list needs a few occurrences each; the detail loads all. */
	let list = await getOptional(svcPath(service) +
	    'errors/?status=all&occurrences=10');
	if (list === null)
		list = await get(svcPath(service) + 'errors/');
	if (service !== state.route.service)
		return false;
	state.service = service;
	state.errors = prepare(Array.isArray(list) ? list : []);
	state.byKey = new Map(state.errors.map((e) =>
	    [e.aggregation_key, e]));
	return true;
}

/* The 24 h counts of the first services, for the home page. */
async function loadHomeCounts() {
	if (!state.haveCountsApi)
		return;
	const list = state.services.slice(0, 100);
	const got = await Promise.all(list.map((s) =>
	    getOptional(svcPath(s) + 'counts/').catch(() => null)));
	list.forEach((s, i) => {
		if (got[i])
			state.homeCounts.set(s, got[i]);
	});
	if (list.length && got.every((c) => c === null))
		state.haveCountsApi = false;
}

async function loadSvcCounts(service) {
	if (!state.haveCountsApi) {
		state.svcCounts = null;
		return;
	}
	const c = await getOptional(svcPath(service) + 'counts/');
	if (c === null)
		state.haveCountsApi = false;
	state.svcCounts = c;
}

async function loadDetail(service, key) {
	let d = null;
	if (state.haveDetailApi) {
		d = await getOptional(errPath(service, key));
		if (d && typeof d !== 'object')
			d = null;
	}
	if (d === null && state.service === service)
		d = state.byKey.get(key) || null;
	if (service !== state.route.service || key !== state.route.key)
		return false;
	state.detail = d;
	return true;
}

/* --- filtering and the virtual list --- */

function applyFilters() {
	const f = state.filters;
	const q = f.q.trim().toLowerCase();
	const words = q ? q.split(/\s+/) : [];
	const out = [];
	let inStatus = 0;
	for (const e of state.errors || []) {
		if (f.status !== 'all' && statusOf(e) !== f.status)
			continue;
		inStatus++;
		if (f.sev !== 'all' && e.severity !== f.sev)
			continue;
		if (words.length && !words.every((w) => e._hay.includes(w)))
			continue;
		out.push(e);
	}
	const byKey = (a, b) => a.aggregation_key < b.aggregation_key ?
	    -1 : a.aggregation_key > b.aggregation_key ? 1 : 0;
	if (f.sort === 'count')
		out.sort((a, b) => b.total_count - a.total_count ||
		    b._latest - a._latest || byKey(a, b));
	else if (f.sort === 'first')
		out.sort((a, b) => b._first - a._first || byKey(a, b));
	else
		out.sort((a, b) => b._latest - a._latest ||
		    b.total_count - a.total_count || byKey(a, b));
	state.filtered = out;
	state.inStatus = inStatus;
	const i = state.key === null ? -1 :
	    out.findIndex((e) => e.aggregation_key === state.key);
	if (i >= 0)
		state.cursor = i;
	else if (state.cursor >= out.length)
		state.cursor = out.length - 1;
}

function renderList() {
	const n = state.filtered.length;
	ui.spacer.style.height = (n * ROW_H) + 'px';
	/* The status works as a tab: "n of m" counts within it. */
	const total = state.inStatus || 0;
	ui.summary.textContent = state.errors === null ? '' :
	    n === total ? num(n) + (n === 1 ? ' error' : ' errors') :
	    num(n) + ' of ' + num(total);
	ui.empty.hidden = n > 0 || state.errors === null;
	ui.empty.textContent = !state.errors || !state.errors.length ?
	    'No errors reported by this service. All good.' :
	    total === 0 ? 'No ' + state.filters.status + ' errors.' :
	    'No errors match these filters.';
	drawRows();
}

function drawRows() {
	const n = state.filtered.length;
	const top = ui.list.scrollTop;
	const h = ui.list.clientHeight || window.innerHeight;
	const first = Math.max(0, Math.floor(top / ROW_H) - OVERSCAN);
	const last = Math.min(n, Math.ceil((top + h) / ROW_H) + OVERSCAN);
	const frag = document.createDocumentFragment();
	for (let i = first; i < last; i++)
		frag.append(row(state.filtered[i], i));
	ui.rows.replaceChildren(frag);
}

function sevBadge(sev) {
	return el('span', { class: 'sev sev-' + str(sev), text: str(sev) });
}

function row(e, i) {
	const st = statusOf(e);
	const cls = ['vrow', 'sevbar-' + str(e.severity)];
	if (e.aggregation_key === state.key)
		cls.push('sel');
	if (i === state.cursor)
		cls.push('cursor');
	if (st !== 'unresolved')
		cls.push('st-' + st);
	const a = el('a', { class: cls.join(' '),
	    href: link(state.service, e.aggregation_key),
	    'data-i': i, 'data-key': e.aggregation_key,
	    onclick: () => { state.cursor = i; } },
	    el('span', { class: 'r1' },
		el('span', { class: 'key', text: e.aggregation_key }),
		el('span', { class: 'count',
		    title: num(e.total_count) + ' occurrences',
		    text: num(e.total_count) })),
	    el('span', { class: 'r2' },
		e.regressed ? el('span', { class: 'tag tag-regressed',
		    text: 'regressed' }) : null,
		st !== 'unresolved' ? el('span', { class: 'tag tag-' + st,
		    text: st }) : null,
		el('span', { class: 'msg' },
		    e._class ? el('b', { text: e._class }) : null,
		    e._class && e._message ? ': ' : '',
		    e._message),
		el('span', { class: 'when' }, when(e._latest))));
	a.style.transform = 'translateY(' + (i * ROW_H) + 'px)';
	return a;
}

let scrollQueued = false;
ui.list.addEventListener('scroll', () => {
	if (scrollQueued)
		return;
	scrollQueued = true;
	requestAnimationFrame(() => {
		scrollQueued = false;
		drawRows();
	});
});
window.addEventListener('resize', () => drawRows());

function moveCursor(d) {
	const n = state.filtered.length;
	if (!n)
		return;
	let c = state.cursor < 0 ? (d > 0 ? 0 : n - 1) : state.cursor + d;
	c = Math.max(0, Math.min(n - 1, c));
	state.cursor = c;
	const top = c * ROW_H, h = ui.list.clientHeight;
	if (top < ui.list.scrollTop)
		ui.list.scrollTop = top;
	else if (top + ROW_H > ui.list.scrollTop + h)
		ui.list.scrollTop = top + ROW_H - h;
	drawRows();
}

/* --- the services, in the sidebar and on the home page --- */

function renderServices() {
	const cur = state.route.service;
	ui.servicesCount.textContent = state.servicesLoaded ?
	    String(state.services.length) : '';
	const items = state.services.map((s, i) => el('li', null,
	    el('a', { href: link(s), class: (s === cur ? 'sel' : '') +
		(state.route.view === 'home' && i === state.homeCursor ?
		' cursor' : ''), text: s })));
	if (state.servicesLoaded && !state.services.length)
		items.push(el('li', { class: 'muted pad',
		    text: 'No services yet.' }));
	ui.serviceList.replaceChildren(...items);
}

function renderHome() {
	const kids = [el('div', { class: 'pane-head' },
	    el('h2', { text: 'Services' }))];
	if (!state.servicesLoaded) {
		kids.push(el('p', { class: 'empty', text: 'Loading…' }));
	} else if (!state.services.length) {
		kids.push(el('div', { class: 'empty' },
		    el('p', { text: 'No services have reported yet.' }),
		    el('p', { class: 'muted', text: 'Services appear ' +
		    'here after their first scrape; see the ' },
		    el('a', { href: '#/targets', text: 'targets' }),
		    '.')));
	} else {
		const ul = el('ul', { class: 'home-list' });
		state.services.forEach((s, i) => {
			const c = state.homeCounts.get(s);
			const spark = c ? barChart(c.day, 86400, 48,
			    'spark') : null;
			ul.append(el('li', null,
			    el('a', { href: link(s), class: i ===
				state.homeCursor ? 'cursor' : null },
				el('span', { class: 'name', text: s }),
				spark ? el('span', { class: 'spark-total',
				    title: 'occurrences in the last 24 h',
				    text: num(spark.total) }) : null,
				spark ? spark.node : null,
				el('span', { class: 'go', text: '›' }))));
		});
		kids.push(ul, el('p', { class: 'muted hint' },
		    'Pick a service, or use ', el('kbd', { text: 'j' }),
		    ' ', el('kbd', { text: 'k' }), ' and ',
		    el('kbd', { text: 'Enter' }), '.'));
	}
	ui.home.replaceChildren(...kids);
}

/* --- charts: inline SVG built node by node --- */

/*
 * Bins [unix_s, count] pairs over the last span seconds into nbins
 * bars; pairs may be sparse or dense, per minute or per hour.
 */
function binned(points, span, nbins) {
	const now = Date.now() / 1000;
	const w = span / nbins;
	const end = Math.ceil(now / w) * w, start = end - span;
	const bins = new Array(nbins).fill(0);
	for (const p of points || []) {
		if (!Array.isArray(p) || p.length < 2)
			continue;
		const i = Math.floor((p[0] - start) / w);
		if (i >= 0 && i < nbins)
			bins[i] += Number(p[1]) || 0;
	}
	return { bins, start, w };
}

function barChart(points, span, nbins, cls) {
	const { bins, start, w } = binned(points, span, nbins);
	const max = Math.max(0, ...bins);
	const total = bins.reduce((a, b) => a + b, 0);
	const H = 40;
	const s = svg('svg', { class: 'chart ' + (cls || ''),
	    viewBox: '0 0 ' + nbins + ' ' + H,
	    preserveAspectRatio: 'none', role: 'img',
	    'aria-label': num(total) + ' occurrences' });
	s.append(svg('line', { class: 'axis', x1: 0, x2: nbins,
	    y1: H - 0.25, y2: H - 0.25 }));
	bins.forEach((c, i) => {
		if (!c)
			return;
		const h = Math.max(2, (c / max) * (H - 2));
		const from = start + i * w;
		s.append(svg('rect', { class: 'bar', x: i + 0.1,
		    y: H - h, width: 0.8, height: h },
		    svg('title', { text: num(c) + ' between ' +
		    absTime(from).slice(5, 16) + ' and ' +
		    absTime(from + w).slice(5, 16) })));
	});
	return { node: s, total, max };
}

function chartBlock(counts, span, onSpan) {
	const day = span === 'day';
	const c = barChart(day ? counts.day : counts.fortnight,
	    day ? 86400 : 14 * 86400, day ? 144 : 168);
	const tab = (v, label) => el('button', { type: 'button',
	    class: span === v ? 'on' : null, 'data-span': v,
	    onclick: () => onSpan(v), text: label });
	return el('div', { class: 'chart-block' },
	    el('div', { class: 'chart-head' },
		el('span', { class: 'chart-total' },
		    el('b', { text: num(c.total) }),
		    day ? ' in the last 24 h' : ' in the last 14 days'),
		el('span', { class: 'seg small' },
		    tab('day', '24 h'), tab('fortnight', '14 d'))),
	    el('div', { class: 'chart-body' },
		el('span', { class: 'ymax', text: c.max ? num(c.max) : '' }),
		c.node),
	    el('div', { class: 'chart-foot' },
		el('span', { text: day ? '24 h ago' : '14 d ago' }),
		el('span', { text: 'now' })));
}

function renderSvcChart() {
	const c = state.svcCounts;
	ui.svcChart.hidden = !c;
	if (!c) {
		ui.svcChart.replaceChildren();
		return;
	}
	ui.svcChart.replaceChildren(chartBlock(c, state.chartSpan, (v) => {
		state.chartSpan = v;
		renderSvcChart();
		renderDetail(true);
	}));
}

/* --- one error --- */

function occurrences(d) {
	return (d && (d.occurrences || d.latest_errors)) || [];
}

/*
 * Clients may send occurrences without a uuid (the server shows them as
 * ""): those are told apart by time and content, and linked by position.
 */
function sameOcc(a, b) {
	if (!a || !b)
		return false;
	if (a.uuid || b.uuid)
		return a.uuid === b.uuid;
	return a.timestamp === b.timestamp &&
	    JSON.stringify(a.error) === JSON.stringify(b.error);
}

function occLink(o, i) {
	return o.uuid ? { occ: o.uuid } : { n: String(i) };
}

function causeChain(err) {
	const out = [];
	let c = err.cause;
	for (let n = 0; c && n < 64; c = c.cause, n++) {
		if (typeof c !== 'object') {
			out.push(el('div', { class: 'cause' },
			    el('h4', { text: 'Caused by' }),
			    el('pre', { class: 'message', text: str(c) })));
			break;
		}
		out.push(el('div', { class: 'cause' },
		    el('h4', null, 'Caused by ',
			el('code', { text: str(c.class) })),
		    c.message ? el('pre', { class: 'message',
			text: str(c.message) }) : null,
		    stack(c.stacktrace)));
	}
	return out;
}

function stack(lines) {
	if (!Array.isArray(lines) || !lines.length)
		return null;
	return el('pre', { class: 'stack' },
	    lines.map((l) => el('span', { class: 'frame',
	    text: str(l) })));
}

function shq(s) {
	return "'" + String(s).replace(/'/g, "'\\''") + "'";
}

function curlOf(h) {
	let cmd = 'curl';
	const m = str(h.request_method) || 'GET';
	if (m !== 'GET')
		cmd += ' -X ' + shq(m);
	cmd += ' ' + shq(str(h.request_url));
	for (const [k, v] of Object.entries(h.request_headers || {}))
		cmd += " \\\n  -H " + shq(k + ': ' + str(v));
	if (h.request_body)
		cmd += " \\\n  --data-raw " + shq(str(h.request_body));
	return cmd;
}

async function copy(text, what) {
	try {
		await navigator.clipboard.writeText(text);
		toast(what + ' copied');
	} catch (e) {
		toast('cannot copy: ' + e.message);
	}
}

function httpContext(h) {
	if (!h || typeof h !== 'object')
		return null;
	const t = el('table', { class: 'kv' });
	t.append(el('tr', null, el('th', { text: 'Method' }),
	    el('td', null, el('code', { text: str(h.request_method) }))));
	t.append(el('tr', null, el('th', { text: 'URL' }),
	    el('td', null, el('code', { text: str(h.request_url) }))));
	const hdrs = h.request_headers && typeof h.request_headers ===
	    'object' ? Object.entries(h.request_headers) : [];
	const ht = el('table', { class: 'kv headers' });
	for (const [k, v] of hdrs)
		ht.append(el('tr', null, el('th', { text: k }),
		    el('td', { text: str(v) })));
	const curl = curlOf(h);
	return el('section', { class: 'card' },
	    el('h3', { text: 'HTTP request' }), t,
	    hdrs.length ? el('h4', { text: 'Headers' }) : null,
	    hdrs.length ? ht : null,
	    h.request_body ? el('h4', { text: 'Body' }) : null,
	    h.request_body ? el('pre', { class: 'body',
		text: str(h.request_body) }) : null,
	    el('div', { class: 'h4row' }, el('h4', { text: 'curl' }),
		el('button', { type: 'button', class: 'small',
		    onclick: () => copy(curl, 'curl command'),
		    text: 'Copy' })),
	    el('pre', { class: 'curl', text: curl }));
}

function stat(label, ...value) {
	return el('div', { class: 'stat' },
	    el('div', { class: 'label', text: label }),
	    el('div', { class: 'value' }, ...value));
}

function actionButtons(d) {
	const st = statusOf(d);
	const b = (action, label, title, primary) =>
	    el('button', { type: 'button', class: primary ? 'primary' :
	    null, 'data-action': action, title,
	    onclick: () => act(action), text: label });
	const out = [];
	if (st !== 'resolved')
		out.push(b('resolve', 'Resolve',
		    'Hide it until it occurs again', true));
	if (st === 'unresolved')
		out.push(b('ignore', 'Ignore',
		    'Hide it, even when it occurs again'));
	if (st !== 'unresolved')
		out.push(b('reopen', 'Reopen', 'Show it again'));
	out.push(el('button', { type: 'button', title: 'Copy a link ' +
	    'to this error', onclick: () => copy(location.href, 'link'),
	    text: 'Copy link' }));
	return out;
}

function occurrenceView(d) {
	const occ = occurrences(d);
	const n = occ.length;
	if (!n)
		return el('section', { class: 'card' },
		    el('p', { class: 'muted',
		    text: 'No occurrences kept for this error.' }));
	if (state.occ >= n)
		state.occ = n - 1;
	const o = occ[state.occ] || {};
	const x = o.error && typeof o.error === 'object' ? o.error : {};
	const nav = el('div', { class: 'occ-nav' },
	    el('button', { type: 'button', id: 'occ-newer',
		disabled: state.occ === 0, title: 'Newer (←)',
		onclick: () => stepOcc(-1), text: '‹ Newer' }),
	    el('span', { id: 'occ-pos', class: 'occ-pos',
		text: (state.occ + 1) + ' of ' + n }),
	    el('button', { type: 'button', id: 'occ-older',
		disabled: state.occ >= n - 1, title: 'Older (→)',
		onclick: () => stepOcc(1), text: 'Older ›' }));
	const meta = el('dl', { class: 'meta' },
	    el('dt', { text: 'Time' }),
	    el('dd', null, when(o.timestamp, true)),
	    el('dt', { text: 'Severity' }),
	    el('dd', null, sevBadge(o.severity)),
	    el('dt', { text: 'UUID' }), el('dd', null,
		el('code', { text: str(o.uuid) })));
	return el('div', { class: 'occ' },
	    el('div', { class: 'occ-head' },
		el('h3', { text: 'Occurrence' }), nav),
	    el('section', { class: 'card' }, meta,
		el('h4', null, el('code', { class: 'class',
		    text: str(x.class) || '(no class)' })),
		x.message ? el('pre', { class: 'message',
		    text: str(x.message) }) : el('p', { class: 'muted',
		    text: '(no message)' }),
		stack(x.stacktrace), causeChain(x)),
	    httpContext(o.http_context));
}

function instancesView(d) {
	const inst = Array.isArray(d.instances) ? d.instances : [];
	if (!inst.length)
		return null;
	const t = el('table', { class: 'grid' },
	    el('tr', null, el('th', { text: 'Instance' }),
		el('th', { class: 'num', text: 'Count' }),
		el('th', { class: 'num', text: 'Client counter' })));
	for (const i of inst)
		t.append(el('tr', null, el('td', null,
		    el('code', { text: str(i.target) })),
		    el('td', { class: 'num', text: num(i.count) }),
		    el('td', { class: 'num', text: num(i.last_raw) })));
	return el('section', { class: 'card' },
	    el('h3', { text: 'Affected instances (' + inst.length + ')' }),
	    t);
}

function renderDetail(force) {
	const r = state.route;
	if (r.view !== 'detail') {
		if (ui.detail.dataset.key !== '') {
			ui.detail.dataset.key = '';
			ui.detail.replaceChildren(el('div', { class: 'empty' },
			    el('p', { text: 'Select an error to see its ' +
			    'occurrences.' })));
		}
		state.detailSig = '';
		return;
	}
	const d = state.detail;
	if (!d) {
		ui.detail.dataset.key = r.key;
		state.detailSig = '';
		ui.detail.replaceChildren(el('div', { class: 'empty' },
		    el('p', { text: 'No error with this key in ' +
		    'this service.' }), el('p', null, el('code',
		    { text: r.key }))));
		return;
	}
	/* Refreshes redraw only what changed, keeping the scroll. */
	const sig = JSON.stringify(d) + '|' + state.occ + '|' +
	    state.chartSpan + '|' + Math.floor(Date.now() / 60000);
	if (!force && sig === state.detailSig &&
	    ui.detail.dataset.key === r.key)
		return;
	state.detailSig = sig;
	const scroll = ui.detail.dataset.key === r.key ?
	    ui.detail.scrollTop : 0;
	ui.detail.dataset.key = r.key;
	const st = statusOf(d);
	const occ = occurrences(d);
	const last = d.last_seen || (occ[0] && occ[0].timestamp) || 0;
	const kids = [
	    el('a', { class: 'back', href: link(r.service),
		text: '‹ ' + r.service }),
	    el('div', { class: 'detail-head' },
		el('div', { class: 'tags' }, sevBadge(d.severity),
		    el('span', { class: 'tag tag-' + st, text: st }),
		    d.regressed ? el('span', { class: 'tag tag-regressed',
			title: d.regressed_at ? 'regressed ' +
			absTime(d.regressed_at) : null,
			text: 'regressed' }) : null),
		el('h2', { class: 'key', id: 'detail-key',
		    text: d.aggregation_key }),
		el('div', { class: 'actions' }, actionButtons(d))),
	    el('div', { class: 'stats' },
		stat('Occurrences', el('b', { text: num(d.total_count) })),
		stat('First seen', when(firstOf(d), true)),
		stat('Last seen', when(last, true)),
		Array.isArray(d.instances) ? stat('Instances',
		    el('b', { text: String(d.instances.length) })) : null)
	];
	if (d.counts)
		kids.push(el('section', { class: 'card' },
		    chartBlock(d.counts, state.chartSpan, (v) => {
			state.chartSpan = v;
			renderSvcChart();
			renderDetail(true);
		    })));
	kids.push(occurrenceView(d));
	const inst = instancesView(d);
	if (inst)
		kids.push(inst);
	ui.detail.replaceChildren(...kids);
	ui.detail.scrollTop = scroll;
}

function stepOcc(delta) {
	const n = occurrences(state.detail).length;
	const i = state.occ + delta;
	if (!state.detail || i < 0 || i >= n)
		return;
	state.occ = i;
	renderDetail(true);
	syncHash();
}

async function act(action) {
	const r = state.route, d = state.detail;
	if (!d)
		return;
	const path = errPath(r.service, d.aggregation_key);
	const opts = (method) => ({ method, headers: authHeaders() });
	let res;
	try {
		res = await fetch(path + '?action=' + action, opts('POST'));
		/* An older server: resolving is DELETE there. */
		if ((res.status === 405 || res.status === 404 ||
		    res.status === 400) && action === 'resolve')
			res = await fetch(path, opts('DELETE'));
	} catch (e) {
		banner('cannot reach the server: ' + e.message);
		return;
	}
	if (res.status === 401) {
		askToken();
		return;
	}
	if (!res.ok) {
		const t = await res.text();
		toast(action + ' failed: HTTP ' + res.status + ' ' +
		    t.trim().slice(0, 120));
		return;
	}
	toast({ resolve: 'Resolved', ignore: 'Ignored',
	    reopen: 'Reopened' }[action] || 'Done');
	/* Old servers have no status field: show it until reload. */
	if (!d.status || !state.haveDetailApi)
		d.status = action === 'reopen' ? 'unresolved' :
		    action === 'resolve' ? 'resolved' : 'ignored';
	await refresh();
}

function askToken() {
	const input = el('input', { type: 'password',
	    placeholder: 'token', 'aria-label': 'Token' });
	const form = el('form', { class: 'token-form',
	    onsubmit: (ev) => {
		ev.preventDefault();
		sessionStorage.setItem('periskop-token', input.value.trim());
		form.remove();
		toast('token saved for this tab; try again');
	    } }, el('span', { text: 'This server needs a token ' +
	    'for changes:' }), input,
	    el('button', { type: 'submit', class: 'primary',
	    text: 'Save' }));
	const a = ui.detail.querySelector('.actions');
	if (a && !ui.detail.querySelector('.token-form')) {
		a.after(form);
		input.focus();
	}
}

/* --- targets --- */

async function renderTargets() {
	const t = await get('targets/');
	const services = Object.keys(t || {}).sort();
	let up = 0, down = 0, unknown = 0, all = 0;
	const table = el('table', { class: 'grid targets-table' },
	    el('thead', null, el('tr', null,
		el('th', { text: 'State' }), el('th', { text: 'Service' }),
		el('th', { text: 'Endpoint' }),
		el('th', { text: 'Last scrape' }),
		el('th', { class: 'num', text: 'Duration' }),
		el('th', { text: 'Last error' }))));
	const tbody = el('tbody');
	/* In an incident the dead ones matter: they come first. */
	const rank = (x) => x.up === false ? 0 : x.up === true ? 2 : 1;
	const rows = [];
	for (const s of services)
		for (const x of Array.isArray(t[s]) ? t[s] : [])
			rows.push([s, x]);
	rows.sort((a, b) => rank(a[1]) - rank(b[1]));
	for (const [s, x] of rows) {
		all++;
		const health = x.up === true ? 'up' : x.up === false ?
		    'down' : 'unknown';
		if (health === 'up')
			up++;
		else if (health === 'down')
			down++;
		else
			unknown++;
		tbody.append(el('tr', { class: 'h-' + health },
		    el('td', null, el('span', { class: 'health ' +
			health, text: health })),
		    el('td', null, el('a', { href: link(s),
			text: s })),
		    el('td', null, el('code', { title: str(x.url) ||
			null, text: str(x.url || x.endpoint) })),
		    el('td', null, x.last_scrape ?
			when(x.last_scrape) : el('span',
			{ class: 'muted', text: '—' })),
		    el('td', { class: 'num', text:
			typeof x.duration_ms === 'number' ?
			x.duration_ms.toFixed(1) + ' ms' : '—' }),
		    el('td', { class: 'lasterr' }, x.last_error ?
			el('code', { text: str(x.last_error) }) :
			el('span', { class: 'muted', text: '—' }))));
	}
	table.append(tbody);
	const chip = (n, cls, label) => el('span', { class: 'chip ' + cls },
	    el('b', { text: String(n) }), ' ' + label);
	ui.targets.replaceChildren(
	    el('div', { class: 'pane-head' }, el('h2', { text: 'Targets' }),
		chip(all, '', all === 1 ? 'target' : 'targets'),
		chip(up, 'up', 'up'), down ? chip(down, 'down', 'down') :
		null, unknown ? chip(unknown, 'unknown', 'not scraped yet') :
		null),
	    all ? el('div', { class: 'table-wrap' }, table) :
		el('p', { class: 'empty', text: 'No targets discovered.' }));
}

/* --- putting it together --- */

function setView(v) {
	ui.body.className = 'view-' + v;
	$('nav-errors').classList.toggle('on', v !== 'targets');
	$('nav-targets').classList.toggle('on', v === 'targets');
}

function readFilters(params) {
	const f = {};
	for (const k of Object.keys(DEFAULTS))
		f[k] = params.get(k) || DEFAULTS[k];
	if (!SORTS.includes(f.sort))
		f.sort = DEFAULTS.sort;
	if (!SEVERITIES.includes(f.sev))
		f.sev = DEFAULTS.sev;
	if (!STATUSES.includes(f.status))
		f.status = DEFAULTS.status;
	state.filters = f;
	if (document.activeElement !== ui.search)
		ui.search.value = f.q;
	ui.sort.value = f.sort;
	ui.status.value = f.status;
	for (const b of ui.sev.querySelectorAll('button'))
		b.classList.toggle('on', b.dataset.sev === f.sev);
}

function stamp() {
	state.lastLoad = Date.now();
	banner('');
	showUpdated();
}

function showUpdated() {
	if (!state.lastLoad)
		return;
	const s = Math.round((Date.now() - state.lastLoad) / 1000);
	ui.updated.textContent = s < 5 ? 'updated just now' :
	    'updated ' + s + ' s ago';
}

async function onRoute() {
	const seq = ++state.seq;
	const r = parseHash();
	const prev = state.route;
	state.route = r;
	readFilters(r.params);
	setView(r.view);
	ui.help.hidden = true;
	try {
		if (r.view === 'targets') {
			await renderTargets();
			stamp();
			return;
		}
		if (!state.servicesLoaded)
			await loadServices();
		if (seq !== state.seq)
			return;
		renderServices();
		if (r.view === 'home') {
			document.title = 'Periskop';
			if (state.homeCursor < 0 && prev.service)
				state.homeCursor = state.services
				    .indexOf(prev.service);
			renderHome();
			await loadHomeCounts();
			if (seq !== state.seq)
				return;
			renderHome();
			stamp();
			return;
		}
		const svcChanged = r.service !== state.service;
		if (svcChanged) {
			state.errors = null;
			state.filtered = [];
			state.cursor = -1;
			state.svcCounts = null;
			ui.svcName.textContent = r.service;
			ui.list.scrollTop = 0;
			renderList();
			renderSvcChart();
			await Promise.all([loadErrors(r.service),
			    loadSvcCounts(r.service)]);
			if (seq !== state.seq)
				return;
			renderSvcChart();
		}
		const keyChanged = r.key !== state.key ||
		    (r.key !== null && !state.detail);
		state.key = r.key;
		applyFilters();
		renderList();
		if (svcChanged && state.cursor >= 0)
			scrollToCursor();
		if (r.view === 'detail' && (keyChanged || svcChanged)) {
			await loadDetail(r.service, r.key);
			if (seq !== state.seq)
				return;
			const occ = occurrences(state.detail);
			const want = r.params.get('occ');
			const n = Number(r.params.get('n'));
			const i = want ? occ.findIndex((o) => o.uuid === want) :
			    Number.isInteger(n) && n < occ.length ? n : 0;
			state.occ = i > 0 ? i : 0;
			renderDetail(true);
			ui.detail.scrollTop = 0;
		} else if (r.view !== 'detail') {
			state.detail = null;
			renderDetail(true);
		}
		document.title = (r.key ? r.key + ' · ' : '') + r.service +
		    ' · Periskop';
		stamp();
	} catch (e) {
		if (seq !== state.seq)
			return;
		if (e.status === 404 && r.service) {
			state.errors = [];
			state.service = r.service;
			applyFilters();
			renderList();
			ui.empty.hidden = false;
			ui.empty.textContent = 'No service called "' +
			    r.service + '".';
			banner('');
		} else {
			banner('cannot load: ' + e.message);
		}
	}
}

function scrollToCursor() {
	const top = state.cursor * ROW_H;
	const h = ui.list.clientHeight;
	if (top < ui.list.scrollTop || top + ROW_H > ui.list.scrollTop + h)
		ui.list.scrollTop = Math.max(0, top - h / 3);
	drawRows();
}

/* Reloads a service's errors, keeping selection, cursor and scroll. */
async function refreshService(r, seq) {
	const cur = state.filtered[state.cursor];
	const cursorKey = cur ? cur.aggregation_key : null;
	await Promise.all([loadErrors(r.service), loadSvcCounts(r.service)]);
	if (seq !== state.seq)
		return;
	applyFilters();
	if (cursorKey !== null && state.key === null) {
		const i = state.filtered.findIndex((e) =>
		    e.aggregation_key === cursorKey);
		if (i >= 0)
			state.cursor = i;
	}
	renderList();
	renderSvcChart();
	if (r.view !== 'detail')
		return;
	const occ = occurrences(state.detail);
	const shown = occ[state.occ];
	await loadDetail(r.service, r.key);
	if (seq !== state.seq)
		return;
	const i = occurrences(state.detail).findIndex((o) => sameOcc(o, shown));
	state.occ = i >= 0 ? i : 0;
	renderDetail(false);
}

/* Reloads what is on screen. */
let refreshing = false, refreshAgain = false;
async function refresh() {
	if (refreshing) {
		/* A change (a resolve, say) must show: reload once more. */
		refreshAgain = true;
		return;
	}
	refreshing = true;
	const seq = state.seq;
	const t0 = Date.now();
	const r = state.route;
	try {
		if (r.view === 'targets') {
			await renderTargets();
		} else {
			await loadServices();
			if (seq !== state.seq)
				return;
			renderServices();
			if (r.view === 'home') {
				await loadHomeCounts();
				if (seq !== state.seq)
					return;
				renderHome();
			} else {
				await refreshService(r, seq);
			}
		}
		stamp();
		/*
		 * A big service takes a while to fetch: then refresh less
		 * often, so the page never spends more than 5% of its
		 * time (and the server's) reloading.
		 */
		state.refreshMs = Math.max(REFRESH_MS, 20 * (Date.now() - t0));
	} catch (e) {
		banner('cannot refresh: ' + e.message);
	} finally {
		refreshing = false;
		if (refreshAgain) {
			refreshAgain = false;
			refresh();
		}
	}
}

/* --- controls --- */

function setFilter(k, v) {
	if (state.filters[k] === v)
		return;
	state.filters[k] = v;
	if (k === 'sev')
		for (const b of ui.sev.querySelectorAll('button'))
			b.classList.toggle('on', b.dataset.sev === v);
	if (k === 'sort')
		ui.sort.value = v;
	applyFilters();
	if (state.key === null)
		state.cursor = state.filtered.length ? 0 : -1;
	ui.list.scrollTop = 0;
	if (state.cursor > 0)
		scrollToCursor();
	renderList();
	syncHash();
}

let searchTimer = 0;
ui.search.addEventListener('input', () => {
	clearTimeout(searchTimer);
	searchTimer = setTimeout(() => setFilter('q', ui.search.value), 80);
});
ui.search.addEventListener('keydown', (ev) => {
	if (ev.key === 'Enter' || ev.key === 'ArrowDown') {
		ev.preventDefault();
		clearTimeout(searchTimer);
		setFilter('q', ui.search.value);
		ui.search.blur();
		if (state.cursor < 0)
			moveCursor(1);
	}
});
ui.sort.addEventListener('change', () => setFilter('sort', ui.sort.value));
ui.status.addEventListener('change', () =>
    setFilter('status', ui.status.value));
ui.sev.addEventListener('click', (ev) => {
	const b = ev.target.closest('button');
	if (b)
		setFilter('sev', b.dataset.sev);
});
$('refresh').addEventListener('click', () => refresh());
$('help-btn').addEventListener('click', () => {
	ui.help.hidden = !ui.help.hidden;
});
ui.help.addEventListener('click', (ev) => {
	if (ev.target === ui.help)
		ui.help.hidden = true;
});

function typing(t) {
	return t && (t.isContentEditable || /^(INPUT|SELECT|TEXTAREA)$/
	    .test(t.tagName));
}

document.addEventListener('keydown', (ev) => {
	if (ev.ctrlKey || ev.metaKey || ev.altKey)
		return;
	if (typing(ev.target)) {
		if (ev.key === 'Escape') {
			if (ev.target === ui.search && ui.search.value) {
				ui.search.value = '';
				setFilter('q', '');
			}
			ev.target.blur();
		}
		return;
	}
	const r = state.route;
	const lists = r.view === 'list' || r.view === 'detail';
	switch (ev.key) {
	case '?':
		ui.help.hidden = !ui.help.hidden;
		break;
	case 'Escape':
		if (!ui.help.hidden)
			ui.help.hidden = true;
		else if (r.view === 'detail')
			go(link(r.service));
		else if (r.view === 'list')
			go('#/');
		break;
	case '/':
		if (!lists)
			return;
		ui.search.focus();
		ui.search.select();
		break;
	case 'j':
	case 'k':
		if (lists)
			moveCursor(ev.key === 'j' ? 1 : -1);
		else if (r.view === 'home' && state.services.length) {
			const n = state.services.length;
			state.homeCursor = Math.max(0, Math.min(n - 1,
			    state.homeCursor + (ev.key === 'j' ? 1 : -1)));
			renderServices();
			renderHome();
			const c = ui.home.querySelector('.cursor');
			if (c)
				c.scrollIntoView({ block: 'nearest' });
		}
		break;
	case 'Enter':
		if (lists && state.filtered[state.cursor])
			go(link(r.service,
			    state.filtered[state.cursor].aggregation_key));
		else if (r.view === 'home' &&
		    state.services[state.homeCursor] !== undefined)
			go(link(state.services[state.homeCursor]));
		else
			return;
		break;
	case 'ArrowLeft':
	case 'p':
		if (r.view !== 'detail')
			return;
		stepOcc(-1);
		break;
	case 'ArrowRight':
	case 'n':
		if (r.view !== 'detail')
			return;
		stepOcc(1);
		break;
	case '1': case '2': case '3': case '4':
		if (!lists)
			return;
		setFilter('sev', SEVERITIES[Number(ev.key) - 1]);
		break;
	case 's':
		if (!lists)
			return;
		setFilter('sort', SORTS[(SORTS.indexOf(state.filters.sort) +
		    1) % SORTS.length]);
		toast('sorted by ' + ui.sort.selectedOptions[0].textContent
		    .toLowerCase());
		break;
	case 't':
		go('#/targets');
		break;
	case 'r':
		refresh();
		break;
	default:
		return;
	}
	ev.preventDefault();
});

window.addEventListener('hashchange', onRoute);
setInterval(() => {
	showUpdated();
	if (document.hidden || Date.now() - state.lastLoad <
	    state.refreshMs)
		return;
	/* Do not redraw under a reader who is selecting text. */
	const sel = window.getSelection();
	if (sel && !sel.isCollapsed)
		return;
	refresh();
}, 1000);
document.addEventListener('visibilitychange', () => {
	if (!document.hidden && Date.now() - state.lastLoad >=
	    state.refreshMs)
		refresh();
});
window.periskopUI = { state, refresh, ROW_H };
onRoute();
