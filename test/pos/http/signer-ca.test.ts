import * as path from 'node:path';
import { toHttpError } from '../../../src/pos/http/errors';
import { startCounter } from '../../../src/pos/http/server';
import { captureLogger, NOW, tmpDir, THREE_LINES } from '../counter/harness';

/**
 * `--fund-signer-ca`: the counter's journal signs only with a professional card whose certificate
 * chains to the configured fund CA. A counter told to trust another CA refuses the demo card's
 * certificate at checkout (409, nothing journalled, the insured card untouched).
 */

const KEYS = path.resolve(__dirname, '..', '..', '..', 'fixtures', 'keys');

test('a professional card the configured fund CA did not issue: checkout refused with cert-untrusted, nothing written', async () => {
  const { logger } = captureLogger();
  const counter = await startCounter({
    dataDir: tmpDir('chifa-signer-ca-'),
    port: 0,
    logger,
    demo: true,
    now: () => NOW,
    fundSignerCa: path.join(KEYS, 'rogue-ca.pem'),
  });
  try {
    const service = counter.service;
    await service.verifyProfessionalPin('0000');
    await service.openCard();
    await service.verifyPin('1234');
    const err = await service.checkout(THREE_LINES).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'cert-untrusted', field: 'certificate' });
    expect(toHttpError(err).status).toBe(409);
    expect(service.backlog()).toMatchObject({ invoices: 0 });
  } finally {
    await counter.close();
  }
});

test('an unreadable --fund-signer-ca file is a typed error before anything starts', async () => {
  const { logger } = captureLogger();
  await expect(
    startCounter({ dataDir: tmpDir('chifa-signer-ca-'), port: 0, logger, demo: true, fundSignerCa: '/nonexistent/fund-ca.pem' }),
  ).rejects.toMatchObject({ code: 'bad-fund-ca' });
});
