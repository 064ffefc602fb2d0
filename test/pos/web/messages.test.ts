import * as fs from 'node:fs';
import * as path from 'node:path';
import { UNPRINTABLE } from '../../../src/common/free-text';

/**
 * The page's message catalogues, beyond what tsc checks (same keys, same shapes): the same
 * parameters in both languages, every plural form Arabic and French need, text that is NFC and
 * printable (no bidirectional control typed in by mistake: the page isolates parameters itself),
 * and every message the markup names exists.
 */

type Message = string | Record<string, string>;
// The page's modules are type-checked with the page's own config (tsconfig.web.json, DOM and
// all); here they are only run.
const catalogue = (lang: string) =>
  jest.requireActual<{ default: Record<string, Message> }>(`../../../src/pos/web/js/i18n/${lang}.js`).default;
const fr = catalogue('fr');
const ar = catalogue('ar');
const catalogues: Record<string, Record<string, Message>> = { fr, ar };
const params = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
const texts = (m: Message) => (typeof m === 'string' ? [m] : Object.values(m));

test('both catalogues have the same keys, and every message the same parameters', () => {
  expect(Object.keys(ar).sort()).toEqual(Object.keys(fr).sort());
  for (const [key, m] of Object.entries(fr)) {
    const other = ar[key]!;
    expect(typeof other).toBe(typeof m);
    const expected = params(texts(m).join(' ')).filter((p, i, a) => a.indexOf(p) === i && p !== 'n');
    for (const t of texts(other)) for (const p of params(t)) expect([key, p, [...expected, 'n'].includes(p)]).toEqual([key, p, true]);
    const found = new Set(texts(other).flatMap(params));
    for (const p of expected) expect([key, p, found.has(p)]).toEqual([key, p, true]);
  }
});

test('plural messages have the forms of their language (CLDR categories)', () => {
  for (const [lang, cat] of Object.entries(catalogues)) {
    const needed = new Intl.PluralRules(lang).resolvedOptions().pluralCategories.filter((c) => !(lang === 'fr' && c === 'many'));
    for (const [key, m] of Object.entries(cat))
      if (typeof m !== 'string') expect([lang, key, Object.keys(m).sort()]).toEqual([lang, key, [...needed].sort()]);
  }
});

test('every text is NFC and printable', () => {
  for (const [lang, cat] of Object.entries(catalogues))
    for (const [key, m] of Object.entries(cat))
      for (const t of texts(m)) {
        expect([lang, key, t.normalize('NFC') === t]).toEqual([lang, key, true]);
        expect([lang, key, UNPRINTABLE.test(t.replace(/\n/g, ''))]).toEqual([lang, key, false]);
      }
});

test('the Arabic catalogue is in Arabic, with the terms of the Algerian practice', () => {
  const all = Object.values(ar).flatMap(texts).join('\n');
  for (const term of [
    'بطاقة الشفاء',
    'المؤمن له',
    'ذوو الحقوق',
    'الدفع من قبل الغير',
    'الصندوق الوطني للتأمينات الاجتماعية للعمال الأجراء',
  ])
    expect(all).toContain(term);
  // Messages left in French by mistake: a Latin word of four letters or more outside the names
  // (codes, commands, standards) an Arabic text keeps as they are.
  const keep = /\b(chifa|serve|parac|pcscd|DZ16|GTIN|EAN|DataMatrix|CNAS|CASNOS|Enter|PUK|Français)\b/g;
  for (const [key, m] of Object.entries(ar))
    for (const t of texts(m)) expect([key, /[A-Za-zÀ-ÿ]{4,}/.test(t.replace(keep, '').replace(/\{\w+\}/g, ''))]).toEqual([key, false]);
});

test.each(['index.html', 'backoffice.html'])('every message %s names is in the catalogue', (page) => {
  const html = fs.readFileSync(path.join(__dirname, '../../../src/pos/web', page), 'utf8');
  const keys = [...html.matchAll(/data-(?:i18n(?:-[a-z-]+)?|title)="([^"]+)"/g)].map((m) => m[1]!);
  expect(keys.length).toBeGreaterThan(50);
  for (const k of keys) expect([k, typeof fr[k]]).toEqual([k, 'string']);
  // And no text outside them: between tags, only white space, symbols, a dash and shortcut names.
  const body = html.slice(html.indexOf('<body'));
  const between = [...body.matchAll(/>([^<]+)</g)].map((m) => m[1]!.trim()).filter((s) => s !== '');
  expect(between.filter((s) => !/^(\?|▭|—|F\d|Alt\+[A-Z])$/.test(s))).toEqual([]);
});

test("every message the pages' shared header and token screen name (js/page-shell.js) is in the catalogue", () => {
  const js = fs.readFileSync(path.join(__dirname, '../../../src/pos/web/js/page-shell.js'), 'utf8');
  const keys = [...js.matchAll(/'data-i18n(?:-[a-z-]+)?': '([^']+)'/g)].map((m) => m[1]!);
  expect(keys).toEqual(expect.arrayContaining(['nav.counter', 'nav.backoffice', 'lang.fr', 'lang.ar', 'token.title', 'token.submit']));
  for (const k of keys) expect([k, typeof fr[k], typeof ar[k]]).toEqual([k, 'string', 'string']);
});
