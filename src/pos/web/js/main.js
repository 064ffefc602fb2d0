// @ts-check
/**
 * The counter page (docs/counter.md): plain ES modules, no bundler, no external resources, under
 * the server's strict Content-Security-Policy. Everything shown comes from the counter API with
 * the token from the URL fragment; the PIN is read from its field, sent once, and the field
 * emptied: it is never kept.
 *
 * Modules by concern: api (the client), events (the counter's live events), i18n (+ i18n/fr,
 * i18n/ar), store (state and events), status (chips, banners, sync), batch-close (the day's batch,
 * signed and sent), card-panel, basket, checkout, receipt, scanner (keyboard-wedge scans), scan
 * (what a scan does), shortcuts; page-shell (the token screen and the language buttons, shared
 * with the back office). The formatters and the GS1 reader are the server's own modules
 * (src/common/format.js, src/common/gs1.js), served at /assets/ — tsc resolves `../assets/*.js`
 * to them through `rootDirs` (tsconfig.web.json).
 */
import { $ } from './dom.js';
import { onLanguageChange } from './i18n.js';
import { takeTokenFromFragment, token } from './api.js';
import { mountShell, showTokenScreen, wireLanguages, wireTokenScreen } from './page-shell.js';
import { dispatch } from './store.js';
import { refreshStatus, wireStatus } from './status.js';
import { connectEvents } from './events.js';
import { wireCardPanel } from './card-panel.js';
import { wireBasket } from './basket.js';
import { checkout } from './checkout.js';
import { wireReceipt } from './receipt.js';
import { installScanner } from './scanner.js';
import { onScan } from './scan.js';
import { wireShortcuts } from './shortcuts.js';
import { wireBatchClose } from './batch-close.js';

function start() {
  mountShell();
  takeTokenFromFragment();
  wireTokenScreen(connectEvents);
  wireStatus();
  wireCardPanel();
  wireBasket();
  wireReceipt();
  wireShortcuts();
  wireBatchClose();
  onLanguageChange(() => dispatch({ type: 'language' }));
  wireLanguages();
  $('checkout-btn').addEventListener('click', () => void checkout());
  installScanner((text) => void onScan(text));
  if (!token()) {
    showTokenScreen();
    return;
  }
  $('app').hidden = false;
  void refreshStatus();
  connectEvents();
}

start();
