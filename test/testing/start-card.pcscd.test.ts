import { ChifaCard, TransportError } from '../../src/card';
import { PcscTransport } from '../../src/card/pcsc';
import { expectTranscript, pcscdRunning, removeAt, startCard, stopAll } from '../../src/testing';
import { describePcsc } from '../support/pcscd';
import { waitForReader } from '../support/pcscd-sdk';

/**
 * startCard with `via: 'vpcd'`: the emulated card behind the real pcscd, read by the SDK's PC/SC
 * transport as an integrator's product would read it; the card-level transcript records the
 * APDUs pcscd delivered.
 */

afterEach(stopAll);

describePcsc('startCard through pcscd + vpcd', () => {
  it('puts the card into a vpcd reader; PcscTransport reads it; the transcript holds what pcscd sent', async () => {
    expect(pcscdRunning()).toBe(true);
    const c = await startCard('demo', { via: 'vpcd' });
    expect(c.via).toBe('vpcd');
    expect(c.reader).toBe('Virtual PCD 00 00');
    const card = await ChifaCard.open(await PcscTransport.connect(c.reader));
    const all = await card.readAll({ pin: '1234' });
    expect(all.kind).toBe('ok');
    await card.close();
    expectTranscript(c, '...\n=> 00A4040C0BD213000001434849464101\n<= 9000\n...\n=> 0020008108****************\n<= 9000\n...');
    await c.stop();
    await waitForReader(c.reader, false);
  });

  it("'auto' picks vpcd when it answers; a fault pulls the card out of the PC/SC reader", async () => {
    const c = await startCard('demo', { via: 'auto', port: 35964, faults: [removeAt(1, 'after')] });
    if (c.via !== 'vpcd') throw new Error('vpcd did not answer on 35964');
    expect(c.reader).toBe('Virtual PCD 00 01');
    const transport = await PcscTransport.connect(c.reader);
    // The card leaves right after answering SELECT: pcscd reports it removed or mute, by timing.
    const err = await ChifaCard.open(transport).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransportError);
    expect(['card-removed', 'card-unresponsive']).toContain((err as TransportError).code);
    await transport.close();
    await waitForReader(c.reader, false);
  });
});
