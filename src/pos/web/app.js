// Comptoir Chifa — the counter page. Plain JavaScript, no bundler, no external resources.
// Everything shown comes from the counter API (/api/*) with the token from the URL fragment.
// Money arrives as integer centimes and is formatted here with integer arithmetic only.
// The PIN is read from the input, sent once, and the input is cleared: it is never stored.
'use strict';

(function () {
  // ------------------------------------------------------------------ helpers

  const $ = (id) => document.getElementById(id);

  /** h('td', { class: 'num' }, 'text', child…) — builds elements without innerHTML (no XSS). */
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    if (attrs) {
      for (const [k, v] of Object.entries(attrs)) {
        if (v === undefined || v === null || v === false) continue;
        if (k === 'class') el.className = v;
        else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
        else if (v === true) el.setAttribute(k, '');
        else el.setAttribute(k, String(v));
      }
    }
    for (const c of children.flat()) {
      if (c === undefined || c === null || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }

  function clear(el) {
    while (el.firstChild) el.removeChild(el.firstChild);
    return el;
  }

  /** 123456 → "1 234,56 DA". Integer arithmetic and string slicing only: no float touches money. */
  function formatDa(c) {
    if (typeof c !== 'number' || !Number.isSafeInteger(c)) return '—';
    const neg = c < 0;
    const digits = String(neg ? -c : c).padStart(3, '0');
    const units = digits.slice(0, -2);
    const cents = digits.slice(-2);
    let grouped = '';
    for (let i = 0; i < units.length; i++) {
      if (i > 0 && (units.length - i) % 3 === 0) grouped += ' ';
      grouped += units[i];
    }
    return (neg ? '-' : '') + grouped + ',' + cents + ' DA';
  }

  /** 8000 bp → "80 %". */
  function formatRate(bp) {
    const whole = Math.trunc(bp / 100);
    const frac = bp % 100;
    return frac === 0 ? whole + ' %' : whole + ',' + String(frac).padStart(2, '0').replace(/0$/, '') + ' %';
  }

  /** "2025-06-15" → "15/06/2025". */
  function frDate(iso) {
    if (typeof iso !== 'string' || iso.length < 10) return '—';
    return iso.slice(8, 10) + '/' + iso.slice(5, 7) + '/' + iso.slice(0, 4);
  }

  function mask(id) {
    if (typeof id !== 'string') return '';
    return id.length <= 4 ? '••••' : '•'.repeat(Math.min(id.length - 4, 8)) + id.slice(-4);
  }

  const CATEGORY = { ordinary: 'Assuré ordinaire', chronic: 'Malade chronique', retiree: 'Retraité (bas revenu)' };
  const RELATION = { insured: 'Assuré', spouse: 'Conjoint(e)', child: 'Enfant', ascendant: 'Ascendant', other: 'Autre' };
  const REASON = {
    'card-blacklisted': 'carte en liste noire (opposition de la caisse)',
    'card-expired': 'carte expirée',
    'rights-expired': 'droits expirés',
    'over-threshold': 'montant au-dessus du plafond du tiers payant',
    'nothing-covered': 'aucun produit remboursable',
    'not-reimbursable': 'non remboursable',
    'prior-approval-required': 'accord préalable requis',
  };
  const reasonText = (r) => (r ? REASON[r] || r : '');

  // ------------------------------------------------------------------ API

  const TOKEN_KEY = 'chifa-counter-token';

  function takeTokenFromFragment() {
    const m = /(?:^|[#&])token=([^&]+)/.exec(location.hash);
    if (m) {
      try {
        sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(m[1]));
      } catch {
        /* private mode: keep it in memory below */
      }
      memoryToken = decodeURIComponent(m[1]);
      // Remove the token from the address bar and the history entry.
      history.replaceState(null, '', location.pathname + location.search);
    }
  }
  let memoryToken = null;
  const token = () => {
    try {
      return sessionStorage.getItem(TOKEN_KEY) || memoryToken;
    } catch {
      return memoryToken;
    }
  };

  class ApiError extends Error {
    constructor(status, body) {
      const e = (body && body.error) || { code: 'http-' + status, message: 'HTTP ' + status };
      super(e.message);
      this.status = status;
      this.code = e.code;
      this.field = e.field;
    }
  }

  async function api(method, path, body) {
    const headers = { Authorization: 'Bearer ' + (token() || '') };
    const init = { method, headers, cache: 'no-store' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch('/api' + path, init);
    } catch {
      throw new ApiError(0, { error: { code: 'offline', message: 'le service du comptoir ne répond pas' } });
    }
    let data;
    try {
      data = await res.json();
    } catch {
      data = null;
    }
    if (!res.ok) {
      if (res.status === 401) showTokenScreen();
      throw new ApiError(res.status, data);
    }
    return data;
  }

  // ------------------------------------------------------------------ state

  const state = {
    status: null,
    card: null, // what the PIN opened
    cardSerial: null,
    beneficiary: 1,
    prescription: '',
    lines: [], // { code, quantity, durationDays, approval, product }
    quote: null,
    quoteError: null,
    warnings: [],
    quoteSeq: 0,
    busy: false,
    opening: false,
    notice: null, // { kind, text }
    catalogue: new Map(), // code → product, for names in the history tables
    rejectedShown: null,
  };

  // ------------------------------------------------------------------ banners

  function renderBanners() {
    const area = clear($('banner-area'));
    const st = state.status;
    if (state.notice) {
      area.append(
        h(
          'div',
          { class: 'banner ' + state.notice.kind },
          h('span', null, state.notice.text),
          h('button', { type: 'button', class: 'link', onclick: () => ((state.notice = null), renderBanners()) }, 'OK'),
        ),
      );
    }
    if (!st) return;
    if (!st.serviceAvailable)
      area.append(
        h(
          'div',
          { class: 'banner error' },
          'Le service PC/SC (pcscd) est arrêté : les lecteurs sont indisponibles. Nouvel essai automatique…',
        ),
      );
    for (const w of st.pendingWrites || []) {
      const mine = st.insured && st.insured.holder && st.insured.holder.cardSerial === w.cardSerial;
      area.append(
        h(
          'div',
          { class: 'banner warn', 'data-pending': w.invoiceNumber },
          h(
            'span',
            null,
            h('strong', null, 'Facture n° ' + w.invoiceNumber + ' : '),
            'la carte ' +
              mask(w.cardSerial) +
              " n'a pas été entièrement mise à jour (" +
              w.written +
              '/' +
              w.records +
              ' enregistrements). ',
            mine
              ? 'Saisissez le PIN du porteur pour terminer.'
              : 'Réinsérez cette carte et saisissez le PIN : la mise à jour se terminera automatiquement.',
          ),
          h(
            'span',
            { class: 'banner-actions' },
            mine && st.insured.verified
              ? h('button', { type: 'button', class: 'small', onclick: () => completeWrite(w.invoiceNumber) }, 'Réessayer')
              : null,
            h('button', { type: 'button', class: 'small ghost', onclick: () => cancelWrite(w.invoiceNumber) }, 'Abandonner (avoir)'),
            h('button', { type: 'button', class: 'small ghost', onclick: () => showReceipt(w.invoiceNumber) }, 'Reçu'),
          ),
        ),
      );
    }
  }

  function notify(kind, text) {
    state.notice = { kind, text };
    renderBanners();
  }

  // ------------------------------------------------------------------ status

  function chip(text, kind, title) {
    return h('span', { class: 'chip ' + (kind || ''), title: title || null }, text);
  }

  function renderStatus() {
    const st = state.status;
    const chips = clear($('chips'));
    if (!st) return;
    if (st.mode === 'demo') chips.append(chip('DÉMO — cartes émulées', 'demo', 'Cartes de test (données fictives)'));
    const readers = st.readers || [];
    chips.append(
      chip(
        readers.length + ' lecteur' + (readers.length > 1 ? 's' : ''),
        st.serviceAvailable ? 'ok' : 'bad',
        readers.map((r) => r.name + (r.cardPresent ? ' (carte)' : '')).join('\n'),
      ),
    );
    chips.append(chip(st.insured.present ? 'Carte Chifa présente' : 'Pas de carte Chifa', st.insured.present ? 'ok' : 'idle'));
    chips.append(
      chip(
        st.professional.present ? (st.professional.unlocked ? 'Carte pro. déverrouillée' : 'Carte pro. verrouillée') : 'Pas de carte pro.',
        st.professional.present && st.professional.unlocked ? 'ok' : 'bad',
      ),
    );
    if (st.sync)
      chips.append(
        chip(
          'À transmettre : ' + (st.sync.openInvoices + st.sync.unsentInvoices),
          st.sync.unsentInvoices > 0 ? 'warn' : 'idle',
          'Factures non encore acceptées par la caisse',
        ),
      );
    const ph = st.professional.pharmacy;
    $('pharmacy-name').textContent = ph
      ? ph.name + ' — ' + ph.pharmacist + ' (' + ph.pharmacyId + ')'
      : st.professional.present
        ? 'Carte professionnelle insérée'
        : 'Carte professionnelle : absente';
    $('pro-panel').hidden = !(st.professional.present && !st.professional.unlocked);
    $('demo-panel').hidden = st.mode !== 'demo';
    if (st.mode === 'demo' && st.demo)
      $('demo-hint').textContent =
        'Cartes de test : PIN patient ' +
        st.demo.insuredPin +
        (st.demo.professionalPin ? ', PIN pharmacien ' + st.demo.professionalPin : '') +
        '.';
    const sf = clear($('sync-facts'));
    if (st.sync) {
      fact(sf, 'Dernière facture', st.sync.lastNumber ? 'n° ' + st.sync.lastNumber : '—');
      fact(sf, 'Lot ouvert', st.sync.openInvoices + ' facture(s)');
      fact(sf, 'Lots non acquittés', st.sync.unsentBatches + ' (' + st.sync.unsentInvoices + ' factures)');
      fact(sf, 'Rejets à corriger', String(st.sync.rejectedPending));
      if (st.sync.rejectedPending !== state.rejectedShown) loadRejected(st.sync.rejectedPending);
    } else fact(sf, 'Journal', 'indisponible');
    renderBanners();
  }

  /** The fund's rejections still to correct, listed under the sync facts. */
  async function loadRejected(count) {
    state.rejectedShown = count;
    const box = clear($('rejected'));
    if (!count) return;
    try {
      const r = await api('GET', '/invoices/rejected');
      const pending = r.rejected.filter((x) => x.correctedBy === null);
      box.append(
        h('h3', null, 'Factures rejetées par la caisse'),
        h(
          'table',
          { class: 'grid' },
          h(
            'thead',
            null,
            h(
              'tr',
              null,
              h('th', null, 'Facture'),
              h('th', null, 'Date'),
              h('th', null, 'Motif'),
              h('th', { class: 'num' }, 'Montant caisse'),
            ),
          ),
          h(
            'tbody',
            null,
            pending.map((x) =>
              h(
                'tr',
                null,
                h('td', null, h('button', { type: 'button', class: 'link', onclick: () => showReceipt(x.number) }, 'n° ' + x.number)),
                h('td', { class: 'nowrap' }, frDate(x.date)),
                h('td', null, x.code, h('div', { class: 'sub' }, x.reason)),
                h('td', { class: 'num money' }, formatDa(x.fundAmount)),
              ),
            ),
          ),
        ),
      );
    } catch {
      state.rejectedShown = null;
    }
  }

  function fact(dl, term, value, cls) {
    dl.append(h('dt', null, term), h('dd', { class: cls || null }, value));
  }

  async function poll() {
    try {
      const st = await api('GET', '/status');
      const before = state.status;
      state.status = st;
      onStatus(before, st);
    } catch (e) {
      if (e.status === 401) return;
      state.status = null;
      clear($('chips')).append(chip('Service injoignable', 'bad'));
    } finally {
      setTimeout(poll, document.hidden ? 5000 : 1500);
    }
  }

  function onStatus(before, st) {
    renderStatus();
    const ins = st.insured;
    if (!ins.present) {
      if (state.cardSerial || state.card) resetPatient('La carte a été retirée.');
      showCardEmpty(
        st.serviceAvailable ? 'Insérez la carte Chifa du patient dans le lecteur.' : 'Lecteurs indisponibles (service PC/SC arrêté).',
      );
      return;
    }
    if (!ins.opened) {
      if (state.card) resetPatient('Une autre carte a été insérée.');
      if (!state.opening) openCard();
      return;
    }
    if (state.cardSerial && ins.holder && ins.holder.cardSerial !== state.cardSerial) resetPatient('Une autre carte a été insérée.');
    state.cardSerial = ins.holder.cardSerial;
    renderHolder(ins.holder, ins);
    if (ins.verified && !state.card) loadCard();
    if (!ins.verified && state.card) {
      state.card = null;
      renderCard();
    }
  }

  // ------------------------------------------------------------------ card

  function showCardEmpty(text) {
    $('card-empty').hidden = false;
    $('card-holder').hidden = true;
    $('card-empty-text').textContent = text;
    $('card-state').textContent = 'Aucune carte';
    $('card-state').className = 'tag';
  }

  async function openCard() {
    state.opening = true;
    try {
      const r = await api('POST', '/card/open');
      state.cardSerial = r.holder.cardSerial;
      renderHolder(r.holder, { verified: r.verified, pinRetriesLeft: r.pinRetriesLeft });
      if (r.verified) await loadCard();
      else $('pin-input').focus();
    } catch (e) {
      showCardEmpty('La carte ne peut pas être lue : ' + e.message);
    } finally {
      state.opening = false;
    }
  }

  function renderHolder(holder, ins) {
    $('card-empty').hidden = true;
    $('card-holder').hidden = false;
    $('holder-name').textContent = holder.lastName + ' ' + holder.firstName;
    $('holder-name-ar').textContent = holder.lastNameAr + ' ' + holder.firstNameAr;
    const dl = clear($('holder-facts'));
    fact(dl, 'N° carte', holder.cardSerial);
    fact(dl, 'N° assuré social', mask(holder.ssn));
    fact(dl, 'Né(e) le', frDate(holder.birthDate));
    fact(dl, 'Valide jusqu’au', frDate(holder.expiryDate), state.status && holder.expiryDate < state.status.today ? 'bad' : null);
    fact(dl, 'Type', holder.cardType === 'family' ? 'Carte famille' : 'Carte individuelle');
    const verified = ins && ins.verified;
    $('pin-form').hidden = !!verified;
    const tag = $('card-state');
    tag.textContent = verified ? 'PIN vérifié' : ins && ins.pinRetriesLeft === 0 ? 'PIN bloqué' : 'PIN requis';
    tag.className = 'tag ' + (verified ? 'ok' : ins && ins.pinRetriesLeft === 0 ? 'bad' : 'warn');
    if (!verified && ins && typeof ins.pinRetriesLeft === 'number' && !$('pin-message').textContent) {
      $('pin-message').textContent = ins.pinRetriesLeft + ' essai(s) restant(s).';
    }
  }

  async function submitPin(ev) {
    ev.preventDefault();
    const input = $('pin-input');
    const pin = input.value;
    input.value = ''; // never kept
    if (!/^\d{4,8}$/.test(pin)) {
      $('pin-message').textContent = 'Le PIN est composé de 4 chiffres.';
      return;
    }
    $('pin-submit').disabled = true;
    $('pin-message').textContent = 'Vérification…';
    try {
      const r = await api('POST', '/card/verify', { pin });
      if (r.result === 'wrong-pin') {
        $('pin-message').textContent = 'PIN incorrect : ' + r.retriesLeft + ' essai(s) restant(s).';
        input.focus();
        return;
      }
      $('pin-message').textContent = '';
      state.card = r.card;
      renderCard();
      reportRecovery(r.recovery || []);
      refreshStatus();
    } catch (e) {
      $('pin-message').textContent =
        e.code === 'pin-blocked' ? 'PIN bloqué : le porteur doit le débloquer auprès de la caisse (code PUK).' : e.message;
    } finally {
      $('pin-submit').disabled = false;
    }
  }

  function reportRecovery(list) {
    const done = list.filter((o) => o.state === 'done').map((o) => o.invoiceNumber);
    const still = list.filter((o) => o.state === 'pending');
    if (done.length)
      notify('ok', 'Carte mise à jour pour la facture ' + done.map((n) => 'n° ' + n).join(', ') + ' (délivrance précédente terminée).');
    else if (still.length)
      notify('warn', 'La mise à jour de la carte reste en attente : ' + (still[0].error ? still[0].error.message : 'réessayez.'));
  }

  async function loadCard() {
    try {
      state.card = await api('GET', '/card');
      renderCard();
    } catch {
      /* the status poll will say why */
    }
  }

  function resetPatient(reason) {
    state.card = null;
    state.cardSerial = null;
    state.lines = [];
    state.quote = null;
    state.warnings = [];
    state.beneficiary = 1;
    state.prescription = '';
    $('pin-message').textContent = '';
    renderCard();
    renderBasket();
    if (reason) notify('info', reason);
  }

  function productName(code) {
    const p = state.catalogue.get(code);
    return p ? p.brand + (p.strength ? ' ' + p.strength : '') : code;
  }

  async function ensureProducts(codes) {
    const missing = [...new Set(codes)].filter((c) => !state.catalogue.has(c));
    await Promise.all(
      missing.map((c) =>
        api('GET', '/catalogue/' + encodeURIComponent(c))
          .then((p) => state.catalogue.set(c, p))
          .catch(() => state.catalogue.set(c, null)),
      ),
    );
  }

  function beneficiaryName(rank) {
    const b = state.card && state.card.beneficiaries.find((x) => x.rank === rank);
    return b ? b.firstName + ' (' + (RELATION[b.relationship] || b.relationship) + ')' : 'rang ' + rank;
  }

  function renderCard() {
    const c = state.card;
    for (const id of ['rights-panel', 'beneficiaries-panel', 'history-panel']) $(id).hidden = !c;
    $('search-input').disabled = !c;
    $('beneficiary-select').disabled = !c;
    $('prescription-select').disabled = !c;
    if (!c) {
      renderBasketMeta();
      return;
    }
    const today = state.status ? state.status.today : '';
    const r = c.rights;
    const rf = clear($('rights-facts'));
    fact(rf, 'Caisse', r.fund);
    fact(rf, 'Catégorie', CATEGORY[r.category] || r.category);
    fact(rf, 'Taux', formatRate(r.rateBp));
    fact(rf, 'Droits jusqu’au', frDate(r.rightsEnd), r.rightsEnd < today ? 'bad' : null);
    for (const ch of r.chronic) fact(rf, 'ALD ' + ch.code, 'jusqu’au ' + frDate(ch.validUntil));
    for (const br of r.beneficiaryRights)
      fact(
        rf,
        'Droits rang ' + br.rank,
        (CATEGORY[br.category] || br.category) + ', ' + formatRate(br.rateBp) + ', jusqu’au ' + frDate(br.rightsEnd),
      );

    const em = clear($('emergency'));
    em.append(h('div', { class: 'blood' }, h('span', null, 'Groupe sanguin'), h('strong', null, c.emergency.bloodGroup || '—')));
    em.append(
      h(
        'div',
        { class: 'allergies' + (c.emergency.allergies.length ? ' has' : '') },
        h('span', null, 'Allergies'),
        c.emergency.allergies.length
          ? h(
              'ul',
              null,
              c.emergency.allergies.map((a) => h('li', null, '⚠ ' + a)),
            )
          : h('em', null, 'aucune enregistrée'),
      ),
    );
    if (c.emergency.conditions.length)
      em.append(
        h(
          'div',
          { class: 'conditions' },
          h('span', null, 'Affections'),
          h(
            'ul',
            null,
            c.emergency.conditions.map((a) => h('li', null, a)),
          ),
        ),
      );

    const bl = clear($('beneficiaries'));
    const bens = c.beneficiaries.length
      ? c.beneficiaries
      : [{ rank: 1, relationship: 'insured', firstName: c.holder.firstName, lastName: c.holder.lastName, birthDate: c.holder.birthDate }];
    for (const b of bens) {
      bl.append(
        h(
          'button',
          {
            type: 'button',
            role: 'radio',
            class: 'beneficiary' + (b.rank === state.beneficiary ? ' selected' : ''),
            'aria-checked': b.rank === state.beneficiary ? 'true' : 'false',
            onclick: () => selectBeneficiary(b.rank),
          },
          h('span', { class: 'rank' }, String(b.rank)),
          h('span', { class: 'bname' }, b.firstName + ' ' + b.lastName),
          h('span', { class: 'brel' }, (RELATION[b.relationship] || b.relationship) + ' · ' + frDate(b.birthDate)),
        ),
      );
    }

    $('rx-count').textContent = String(c.prescriptions.length);
    $('disp-count').textContent = String(c.dispensations.length);
    const codes = c.prescriptions.flatMap((p) => p.lines.map((l) => l.productCode)).concat(c.dispensations.map((d) => d.productCode));
    ensureProducts(codes).then(renderHistory);
    renderHistory();
    renderBasketMeta();
  }

  function renderHistory() {
    const c = state.card;
    if (!c) return;
    const rx = clear($('rx-table').tBodies[0]);
    for (const p of c.prescriptions) {
      rx.append(
        h(
          'tr',
          { class: p.rank === state.beneficiary ? 'mine' : null },
          h('td', { class: 'nowrap' }, frDate(p.date)),
          h('td', { class: 'nowrap' }, p.reference),
          h('td', null, beneficiaryName(p.rank)),
          h('td', null, p.speciality, h('div', { class: 'sub' }, p.prescriberId)),
          h(
            'td',
            null,
            p.lines.map((l) => h('div', null, productName(l.productCode) + ' × ' + l.quantity + ' — ' + l.durationDays + ' j')),
          ),
          h('td', null, h('button', { type: 'button', class: 'small ghost', onclick: () => loadPrescription(p) }, 'Délivrer')),
        ),
      );
    }
    if (!c.prescriptions.length) rx.append(h('tr', null, h('td', { colspan: 6, class: 'empty small' }, 'Aucune ordonnance sur la carte.')));
    const dt = clear($('disp-table').tBodies[0]);
    for (const d of c.dispensations) {
      dt.append(
        h(
          'tr',
          null,
          h('td', { class: 'nowrap' }, frDate(d.date)),
          h('td', null, beneficiaryName(d.rank)),
          h('td', null, productName(d.productCode), h('div', { class: 'sub' }, d.productCode)),
          h('td', { class: 'num' }, String(d.quantity)),
          h('td', { class: 'num' }, String(d.durationDays)),
          h('td', { class: 'nowrap' }, d.pharmacyId, d.prescriptionRef ? h('div', { class: 'sub' }, 'Ord. ' + d.prescriptionRef) : null),
          h('td', { class: 'num' }, d.invoiceNumber === null ? '—' : String(d.invoiceNumber)),
        ),
      );
    }
    if (!c.dispensations.length) dt.append(h('tr', null, h('td', { colspan: 7, class: 'empty small' }, 'Aucune délivrance sur la carte.')));
  }

  function selectBeneficiary(rank) {
    state.beneficiary = rank;
    state.prescription = '';
    renderCard();
    scheduleQuote();
  }

  function renderBasketMeta() {
    const sel = clear($('beneficiary-select'));
    const c = state.card;
    if (c) {
      const bens = c.beneficiaries.length ? c.beneficiaries : [{ rank: 1, relationship: 'insured', firstName: c.holder.firstName }];
      for (const b of bens)
        sel.append(
          h(
            'option',
            { value: b.rank, selected: b.rank === state.beneficiary },
            b.rank + ' — ' + b.firstName + ' (' + (RELATION[b.relationship] || b.relationship) + ')',
          ),
        );
    }
    const ps = clear($('prescription-select'));
    ps.append(h('option', { value: '' }, '— sans référence —'));
    if (c) {
      for (const p of c.prescriptions.filter((x) => x.rank === state.beneficiary)) {
        ps.append(
          h(
            'option',
            { value: p.reference, selected: p.reference === state.prescription },
            p.reference + ' du ' + frDate(p.date) + ' (' + p.speciality + ')',
          ),
        );
      }
    }
    $('basket-for').textContent = c ? 'pour ' + beneficiaryName(state.beneficiary) : '';
  }

  // ------------------------------------------------------------------ basket

  let searchTimer = null;
  let searchSeq = 0;

  function onSearchInput() {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(runSearch, 150);
  }

  async function runSearch() {
    const q = $('search-input').value.trim();
    const list = $('search-results');
    if (q.length < 2) {
      list.hidden = true;
      return;
    }
    const seq = ++searchSeq;
    try {
      const r = await api('GET', '/catalogue?q=' + encodeURIComponent(q) + '&limit=12');
      if (seq !== searchSeq) return;
      clear(list);
      for (const p of r.products) {
        state.catalogue.set(p.code, p);
        list.append(
          h(
            'li',
            { role: 'option', tabindex: '0', onclick: () => addProduct(p), onkeydown: (e) => e.key === 'Enter' && addProduct(p) },
            h('span', { class: 'pname' }, p.brand + (p.strength ? ' ' + p.strength : '')),
            h('span', { class: 'pdci' }, p.dci + ' — ' + p.form),
            h('span', { class: 'pcode' }, p.code),
            h('span', { class: 'pprice' }, formatDa(p.unitPrice), p.reimbursable ? null : h('span', { class: 'nr' }, ' non remb.')),
          ),
        );
      }
      if (!r.products.length) list.append(h('li', { class: 'none' }, 'Aucun produit pour « ' + q + ' ».'));
      list.hidden = false;
    } catch {
      list.hidden = true;
    }
  }

  function addProduct(p, quantity, durationDays) {
    const existing = state.lines.find((l) => l.code === p.code);
    if (existing) existing.quantity += quantity || 1;
    else
      state.lines.push({
        code: p.code,
        quantity: quantity || 1,
        durationDays: durationDays || defaultDuration(p.code),
        approval: '',
        product: p,
      });
    $('search-input').value = '';
    $('search-results').hidden = true;
    renderBasket();
    scheduleQuote();
  }

  /** A prescription on the card for this beneficiary that names the product gives its duration. */
  function defaultDuration(code) {
    const c = state.card;
    if (c) {
      for (const p of c.prescriptions) {
        if (p.rank !== state.beneficiary) continue;
        const l = p.lines.find((x) => x.productCode === code);
        if (l) return l.durationDays;
      }
    }
    return 30;
  }

  async function loadPrescription(p) {
    state.beneficiary = p.rank;
    state.prescription = p.reference;
    state.lines = [];
    await ensureProducts(p.lines.map((l) => l.productCode));
    for (const l of p.lines) {
      const prod = state.catalogue.get(l.productCode);
      if (prod) state.lines.push({ code: prod.code, quantity: l.quantity, durationDays: l.durationDays, approval: '', product: prod });
      else notify('warn', 'Produit ' + l.productCode + ' de l’ordonnance ' + p.reference + ' inconnu du catalogue.');
    }
    renderCard();
    renderBasket();
    scheduleQuote();
  }

  function renderBasket() {
    const body = clear($('basket-table').tBodies[0]);
    const q = state.quote;
    state.lines.forEach((l, i) => {
      const ql = q && q.quote.lines[i];
      const p = l.product;
      const qty = h('input', { type: 'number', min: 1, max: 999, step: 1, value: l.quantity, class: 'qty', 'aria-label': 'Quantité' });
      qty.addEventListener('change', () => {
        const n = Math.trunc(Number(qty.value));
        l.quantity = n >= 1 && n <= 999 ? n : 1;
        qty.value = String(l.quantity);
        scheduleQuote();
      });
      const days = h('input', {
        type: 'number',
        min: 1,
        max: 365,
        step: 1,
        value: l.durationDays,
        class: 'qty',
        'aria-label': 'Durée du traitement (jours)',
      });
      days.addEventListener('change', () => {
        const n = Math.trunc(Number(days.value));
        l.durationDays = n >= 1 && n <= 365 ? n : 30;
        days.value = String(l.durationDays);
      });
      const nameCell = h(
        'td',
        null,
        h('div', { class: 'pname' }, p.brand + (p.strength ? ' ' + p.strength : '')),
        h('div', { class: 'sub' }, p.dci + ' · ' + p.code),
      );
      if (p.priorApproval) {
        const ap = h('input', { type: 'text', value: l.approval, placeholder: 'N° d’accord préalable', class: 'approval', maxlength: 64 });
        ap.addEventListener('change', () => {
          // The API refuses text that is not NFC (it is signed as sent): compose accents here.
          l.approval = ap.value.trim().normalize('NFC');
          scheduleQuote();
        });
        nameCell.append(ap);
      }
      if (ql && ql.reason) nameCell.append(h('div', { class: 'reason' }, reasonText(ql.reason)));
      body.append(
        h(
          'tr',
          { class: state.warnings.some((w) => w.line === i && w.code === 'allergy') ? 'allergy' : null },
          nameCell,
          h('td', { class: 'num' }, qty),
          h('td', { class: 'num' }, days),
          h('td', { class: 'num money' }, formatDa(p.unitPrice)),
          h('td', { class: 'num money' }, ql ? formatDa(ql.total) : '…'),
          h('td', { class: 'num money fund' }, ql ? formatDa(ql.fund) : '…'),
          h('td', { class: 'num money' }, ql ? formatDa(ql.patient) : '…'),
          h(
            'td',
            null,
            h(
              'button',
              { type: 'button', class: 'icon', title: 'Retirer', 'aria-label': 'Retirer la ligne', onclick: () => removeLine(i) },
              '✕',
            ),
          ),
        ),
      );
    });
    $('basket-empty').hidden = state.lines.length > 0;
    renderTotals();
  }

  function removeLine(i) {
    state.lines.splice(i, 1);
    renderBasket();
    scheduleQuote();
  }

  function renderTotals() {
    const q = state.quote && state.lines.length ? state.quote.quote : null;
    $('t-total').textContent = q ? formatDa(q.total) : '—';
    $('t-fund').textContent = q ? formatDa(q.fund) : '—';
    $('t-patient').textContent = q ? formatDa(q.patient) : '—';
    const tp = clear($('tp-line'));
    if (q) {
      tp.append(
        h(
          'span',
          { class: 'tag ' + (q.thirdPartyPayment ? 'ok' : 'warn') },
          q.thirdPartyPayment ? 'Tiers payant : oui' : 'Tiers payant : non',
        ),
        ' ',
        q.thirdPartyPayment
          ? 'La caisse (' +
              (state.card ? state.card.rights.fund : '') +
              ') paie ' +
              formatDa(q.fund) +
              ' — taux ' +
              formatRate(q.rateBp) +
              ', règles ' +
              q.ruleVersion +
              '.'
          : 'Motif : ' + reasonText(q.reason) + '. Le patient paie tout et se fait rembourser ensuite.',
      );
    } else if (state.quoteError) tp.append(h('span', { class: 'tag bad' }, 'Erreur'), ' ' + state.quoteError);
    const w = clear($('warnings'));
    for (const x of state.warnings)
      w.append(
        h(
          'div',
          { class: 'warning ' + x.code },
          h('strong', null, x.code === 'allergy' ? 'Allergie' : 'Doublon possible'),
          ' — ',
          x.message,
        ),
      );
    $('checkout-btn').disabled = !(q && state.card && !state.busy && state.lines.length);
  }

  let quoteTimer = null;
  function scheduleQuote() {
    clearTimeout(quoteTimer);
    state.quote = null;
    renderTotals();
    if (!state.card || !state.lines.length) {
      state.warnings = [];
      renderBasket();
      return;
    }
    quoteTimer = setTimeout(runQuote, 200);
  }

  function basketBody() {
    const body = {
      beneficiary: state.beneficiary,
      lines: state.lines.map((l) => {
        const line = { code: l.code, quantity: l.quantity, durationDays: l.durationDays };
        if (l.approval) line.approval = l.approval;
        return line;
      }),
    };
    if (state.prescription) body.prescription = state.prescription;
    return body;
  }

  async function runQuote() {
    const seq = ++state.quoteSeq;
    try {
      const r = await api('POST', '/quote', basketBody());
      if (seq !== state.quoteSeq) return;
      state.quote = r;
      state.quoteError = null;
      state.warnings = r.warnings;
    } catch (e) {
      if (seq !== state.quoteSeq) return;
      state.quote = null;
      state.quoteError = e.message;
      state.warnings = [];
    }
    renderBasket();
  }

  function newRequestId() {
    const b = new Uint8Array(16);
    crypto.getRandomValues(b);
    return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  }

  async function checkout() {
    if (!state.quote || state.busy) return;
    const allergies = state.warnings.filter((w) => w.code === 'allergy');
    if (
      allergies.length &&
      !window.confirm('Allergie enregistrée sur la carte :\n' + allergies.map((w) => w.message).join('\n') + '\n\nDélivrer quand même ?')
    )
      return;
    state.busy = true;
    renderTotals();
    $('checkout-btn').textContent = 'Signature et écriture sur la carte…';
    const q = state.quote.quote;
    try {
      const r = await api(
        'POST',
        '/checkout',
        Object.assign(basketBody(), { expect: { total: q.total, fund: q.fund, patient: q.patient }, requestId: newRequestId() }),
      );
      if (r.cardWrite.state === 'done')
        notify('ok', 'Facture n° ' + r.invoice.number + ' signée ; carte mise à jour (' + r.cardWrite.records + ' enregistrement(s)).');
      else
        notify(
          'warn',
          'Facture n° ' +
            r.invoice.number +
            ' signée, mais la carte n’a pas pu être mise à jour (' +
            (r.cardWrite.error ? r.cardWrite.error.message : 'erreur') +
            '). Réinsérez la carte et saisissez le PIN pour terminer.',
        );
      state.lines = [];
      state.quote = null;
      state.warnings = [];
      state.prescription = '';
      renderBasket();
      renderBasketMeta();
      await showReceipt(r.invoice.number);
      loadCard();
      refreshStatus();
    } catch (e) {
      notify('error', 'Délivrance refusée : ' + e.message);
      if (e.code === 'quote-changed') scheduleQuote();
    } finally {
      state.busy = false;
      $('checkout-btn').textContent = 'Valider la délivrance';
      renderTotals();
    }
  }

  async function completeWrite(n) {
    try {
      const r = await api('POST', '/card-writes/' + n + '/complete');
      notify(
        r.state === 'done' ? 'ok' : 'warn',
        r.state === 'done'
          ? 'Carte mise à jour pour la facture n° ' + n + '.'
          : 'Toujours en attente : ' + (r.error ? r.error.message : ''),
      );
      loadCard();
    } catch (e) {
      notify('error', e.message);
    }
    refreshStatus();
  }

  async function cancelWrite(n) {
    if (!window.confirm('Abandonner la délivrance de la facture n° ' + n + ' ?\nUn avoir signé annulera la facture.')) return;
    try {
      const r = await api('POST', '/card-writes/' + n + '/cancel', { reason: 'délivrance abandonnée au comptoir' });
      notify('info', 'Facture n° ' + n + ' annulée par l’avoir n° ' + r.creditNote + '.');
    } catch (e) {
      notify('error', e.message);
    }
    refreshStatus();
  }

  async function refreshStatus() {
    try {
      state.status = await api('GET', '/status');
      renderStatus();
    } catch {
      /* next poll */
    }
  }

  // ------------------------------------------------------------------ receipt

  async function showReceipt(n) {
    let r;
    try {
      r = await api('GET', '/invoices/' + n + '/receipt');
    } catch (e) {
      notify('error', 'Reçu indisponible : ' + e.message);
      return;
    }
    const body = clear($('receipt-body'));
    const kind = r.kind === 'credit-note' ? 'AVOIR' : r.kind === 'corrected-invoice' ? 'FACTURE RECTIFICATIVE' : 'FACTURE';
    body.append(
      h(
        'header',
        { class: 'r-head' },
        h(
          'div',
          null,
          h('div', { class: 'r-pharmacy' }, r.pharmacy.name || r.pharmacy.pharmacyId),
          r.pharmacy.pharmacist ? h('div', null, r.pharmacy.pharmacist) : null,
          h(
            'div',
            { class: 'sub' },
            'Pharmacie ' +
              r.pharmacy.pharmacyId +
              (r.pharmacy.agreement ? ' · Convention ' + r.pharmacy.agreement : '') +
              (r.pharmacy.wilaya ? ' · Wilaya ' + r.pharmacy.wilaya : ''),
          ),
        ),
        h(
          'div',
          { class: 'r-title' },
          h('h2', { id: 'receipt-title' }, kind + ' N° ' + r.number),
          h('div', null, 'du ' + frDate(r.date)),
          h('div', { class: 'sub' }, 'émise le ' + r.issuedAt.replace('T', ' ').slice(0, 16) + ' UTC'),
        ),
      ),
    );
    body.append(
      h(
        'dl',
        { class: 'facts r-facts' },
        h('dt', null, 'Caisse'),
        h('dd', null, r.fund),
        h('dt', null, 'Carte'),
        h('dd', null, r.beneficiary.cardSerial + ' · bénéficiaire rang ' + r.beneficiary.rank),
        h('dt', null, 'Assuré'),
        h('dd', null, r.beneficiary.insuredId || '—'),
        h('dt', null, 'Catégorie'),
        h('dd', null, (CATEGORY[r.category] || r.category) + ' · taux ' + formatRate(r.rateBp)),
        r.prescription
          ? [
              h('dt', null, 'Ordonnance'),
              h(
                'dd',
                null,
                r.prescription.reference +
                  (r.prescription.date ? ' du ' + frDate(r.prescription.date) : '') +
                  (r.prescription.prescriber ? ' · ' + r.prescription.prescriber : ''),
              ),
            ]
          : null,
      ),
    );
    body.append(
      h(
        'table',
        { class: 'grid r-lines' },
        h(
          'thead',
          null,
          h(
            'tr',
            null,
            h('th', null, 'Produit'),
            h('th', { class: 'num' }, 'Qté'),
            h('th', { class: 'num' }, 'P.U.'),
            h('th', { class: 'num' }, 'Tarif réf.'),
            h('th', { class: 'num' }, 'Total'),
            h('th', { class: 'num' }, 'Caisse'),
            h('th', { class: 'num' }, 'Patient'),
          ),
        ),
        h(
          'tbody',
          null,
          r.lines.map((l) =>
            h(
              'tr',
              null,
              h(
                'td',
                null,
                l.label,
                h(
                  'div',
                  { class: 'sub' },
                  l.code + (l.durationDays ? ' · ' + l.durationDays + ' j' : '') + (l.reason ? ' · ' + reasonText(l.reason) : ''),
                ),
              ),
              h('td', { class: 'num' }, String(l.quantity)),
              h('td', { class: 'num money' }, formatDa(l.unitPrice)),
              h('td', { class: 'num money' }, l.referencePrice === null ? '—' : formatDa(l.referencePrice)),
              h('td', { class: 'num money' }, formatDa(l.total)),
              h('td', { class: 'num money' }, formatDa(l.fund)),
              h('td', { class: 'num money' }, formatDa(l.patient)),
            ),
          ),
        ),
        h(
          'tfoot',
          null,
          h(
            'tr',
            null,
            h('th', { colspan: 4 }, 'Totaux'),
            h('th', { class: 'num money' }, formatDa(r.totals.total)),
            h('th', { class: 'num money' }, formatDa(r.totals.fund)),
            h('th', { class: 'num money' }, formatDa(r.totals.patient)),
          ),
        ),
      ),
    );
    body.append(
      h(
        'div',
        { class: 'r-pay' },
        h(
          'div',
          null,
          'Tiers payant : ',
          h('strong', null, r.thirdPartyPayment ? 'oui' : 'non'),
          r.thirdPartyPayment ? '' : ' — ' + reasonText(r.reason),
        ),
        h('div', { class: 'r-due' }, 'Net à payer par le patient : ', h('strong', { id: 'receipt-due' }, formatDa(r.totals.patient))),
      ),
    );
    const notes = [];
    if (r.creditNote) notes.push('Facture annulée par l’avoir n° ' + r.creditNote + '.');
    if (r.references) notes.push('Se rapporte à la facture n° ' + r.references.number + '.');
    if (r.cardWrite && r.cardWrite.state === 'pending')
      notes.push('Carte Chifa : mise à jour en attente (' + r.cardWrite.written + '/' + r.cardWrite.records + ').');
    if (r.cardWrite && r.cardWrite.state === 'done') notes.push('Carte Chifa mise à jour.');
    body.append(
      h(
        'footer',
        { class: 'r-foot' },
        notes.map((t) => h('div', null, t)),
        h(
          'div',
          { class: 'sub' },
          'Règles ' + r.ruleVersion + ' · empreinte ' + r.hashPrefix + ' · document signé par la carte professionnelle',
        ),
      ),
    );
    $('receipt').hidden = false;
    $('print-btn').focus();
  }

  // ------------------------------------------------------------------ token screen, wiring

  function showTokenScreen() {
    $('token-screen').hidden = false;
    $('app').hidden = true;
  }

  function start() {
    takeTokenFromFragment();
    $('token-form').addEventListener('submit', (e) => {
      e.preventDefault();
      const t = $('token-input').value.trim();
      $('token-input').value = '';
      if (!t) return;
      try {
        sessionStorage.setItem(TOKEN_KEY, t);
      } catch {
        /* memory only */
      }
      memoryToken = t;
      $('token-screen').hidden = true;
      $('app').hidden = false;
    });
    $('pin-form').addEventListener('submit', submitPin);
    $('pro-form').addEventListener('submit', async (e) => {
      e.preventDefault();
      const pin = $('pro-pin').value;
      $('pro-pin').value = '';
      try {
        const r = await api('POST', '/professional/verify', { pin });
        $('pro-message').textContent = r.result === 'ok' ? '' : 'PIN incorrect : ' + r.retriesLeft + ' essai(s) restant(s).';
      } catch (err) {
        $('pro-message').textContent = err.message;
      }
      refreshStatus();
    });
    $('search-input').addEventListener('input', onSearchInput);
    $('search-input').addEventListener('keydown', (e) => {
      if (e.key === 'Escape') $('search-results').hidden = true;
      if (e.key === 'Enter') {
        const first = $('search-results').querySelector('li[role="option"]');
        if (first) first.click();
      }
    });
    $('beneficiary-select').addEventListener('change', (e) => selectBeneficiary(Number(e.target.value)));
    $('prescription-select').addEventListener('change', (e) => {
      state.prescription = e.target.value;
    });
    $('checkout-btn').addEventListener('click', checkout);
    $('clear-btn').addEventListener('click', () => {
      state.lines = [];
      state.prescription = '';
      scheduleQuote();
      renderBasket();
      renderBasketMeta();
    });
    $('print-btn').addEventListener('click', () => window.print());
    $('receipt-close').addEventListener('click', () => ($('receipt').hidden = true));
    $('tab-rx').addEventListener('click', () => tab(true));
    $('tab-disp').addEventListener('click', () => tab(false));
    $('demo-remove').addEventListener('click', () => demoCard('remove'));
    $('demo-insert').addEventListener('click', () => demoCard('insert'));
    document.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && !$('receipt').hidden) $('receipt').hidden = true;
    });
    if (!token()) {
      showTokenScreen();
    } else {
      $('app').hidden = false;
    }
    renderBasket();
    poll();
  }

  function tab(rx) {
    $('tab-rx').classList.toggle('active', rx);
    $('tab-disp').classList.toggle('active', !rx);
    $('tab-rx').setAttribute('aria-selected', String(rx));
    $('tab-disp').setAttribute('aria-selected', String(!rx));
    $('rx-wrap').hidden = !rx;
    $('disp-wrap').hidden = rx;
  }

  async function demoCard(action) {
    try {
      await api('POST', '/demo/insured/' + action);
    } catch (e) {
      notify('error', e.message);
    }
    refreshStatus();
  }

  // Exposed for tests of the formatting (no framework needed).
  window.chifaFormat = { formatDa, formatRate };

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
