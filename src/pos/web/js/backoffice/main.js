// @ts-check
/**
 * The pharmacist's back office (docs/backoffice.md): the counter's own page family — same token
 * (from the URL fragment or this tab's session), same languages and message catalogues, same
 * strict Content-Security-Policy, no bundler, no remote resource. Five sections, one per job:
 * bordereaux (with the audit before closing and the payments), rejects, statistics (charts drawn
 * here by Chart.js, served by the counter), the psychotropics register, the refill forecast. The
 * section shown is in the address (`#stats`), so a reload or a bookmark comes back to it.
 */
import { $ } from '../dom.js';
import { api, takeTokenFromFragment, token } from '../api.js';
import { date, onLanguageChange, t } from '../i18n.js';
import { mountShell, showTokenScreen, wireLanguages, wireTokenScreen } from '../page-shell.js';
import { renderNotice } from './notice.js';
import { printSection } from './export.js';
import * as bordereaux from './bordereaux.js';
import * as rejects from './rejects.js';
import * as stats from './stats.js';
import * as register from './register.js';
import * as refills from './refills.js';

/** @typedef {{ wire(): void, load(): Promise<void>, render(): void }} Section */

/** @type {Record<string, Section>} */
const SECTIONS = { bordereaux, rejects, stats, register, refills };

/** @type {string | null} */
let shown = null;
/** The counter's calendar day (the server's clock), for the date filters' defaults. */
let today = '';

/** @param {string} name */
function show(name) {
  const section = SECTIONS[name] ? name : 'bordereaux';
  shown = section;
  for (const b of document.querySelectorAll('[data-section]')) {
    const on = b.getAttribute('data-section') === section;
    b.classList.toggle('active', on);
    b.setAttribute('aria-selected', String(on));
  }
  for (const s of document.querySelectorAll('.bo-section')) if (s instanceof HTMLElement) s.hidden = s.id !== `section-${section}`;
  if (location.hash !== `#${section}`) history.replaceState(null, '', `${location.pathname}${location.search}#${section}`);
  void SECTIONS[section]?.load();
}

/** The counter's day (GET /api/status), shown in the top bar and given to the sections. */
async function loadToday() {
  try {
    const st = /** @type {{ today: string }} */ (await api('GET', '/status'));
    today = st.today;
  } catch {
    today = new Date().toISOString().slice(0, 10);
  }
  $('bo-today').textContent = today ? t('bo.today', { date: date(today, 'long') }) : '';
  for (const s of [bordereaux, stats, register]) s.setToday(today);
}

async function start() {
  // The fragment's token, unless the fragment names a section.
  mountShell();
  if (location.hash.includes('token=')) takeTokenFromFragment();
  wireTokenScreen(() => void loadToday().then(() => show(shown ?? 'bordereaux')));
  onLanguageChange(() => {
    renderNotice();
    if (today) $('bo-today').textContent = t('bo.today', { date: date(today, 'long') });
    for (const s of Object.values(SECTIONS)) s.render();
  });
  wireLanguages();
  for (const b of document.querySelectorAll('[data-section]'))
    b.addEventListener('click', () => show(b.getAttribute('data-section') ?? 'bordereaux'));
  for (const b of document.querySelectorAll('[data-print]')) b.addEventListener('click', printSection);
  for (const s of Object.values(SECTIONS)) s.wire();
  window.addEventListener('hashchange', () => {
    const name = location.hash.slice(1);
    if (name !== shown && SECTIONS[name]) show(name);
  });
  if (!token()) {
    showTokenScreen();
    return;
  }
  $('app').hidden = false;
  await loadToday();
  show(location.hash.slice(1));
}

void start();
