import { fromHex, toHex } from '../../../src/card/apdu';
import { readRecord, verify } from '../../../src/card/commands';
import { CardChannel } from '../../../src/card/transport/channel';
import {
  parseTranscript,
  RecordingTransport,
  ReplayMismatchError,
  ReplayTransport,
  TranscriptFormatError,
} from '../../../src/card/transport/transcript';
import { CardRemovedError, type CardTransport } from '../../../src/card/transport/transport';

/** A tiny scripted card: answers by command hex, and can be "removed". */
function scripted(answers: Record<string, string>, removedAfter = Infinity): CardTransport {
  let n = 0;
  return {
    async transmit(cmd) {
      if (n++ >= removedAfter) throw new CardRemovedError();
      const a = answers[toHex(cmd)];
      if (a === undefined) return fromHex('6D00');
      return fromHex(a);
    },
  };
}

const PIN = Buffer.from('31323334FFFFFFFF', 'hex');

test('a recorded session replays exactly, with the PIN redacted in the transcript', async () => {
  const card = scripted({ '00B2010C00': 'AABB9000', ['0020008108' + PIN.toString('hex').toUpperCase()]: '9000' }, 2);
  const rec = new RecordingTransport(card);
  const ch = new CardChannel(rec);
  expect(await ch.run(readRecord({ record: 1, sfi: 1 }))).toMatchObject({ kind: 'ok' });
  expect(await ch.run(verify(0x81, PIN))).toEqual({ kind: 'ok' });
  await expect(ch.run(readRecord({ record: 2, sfi: 1 }))).rejects.toBeInstanceOf(CardRemovedError);
  const text = rec.transcript();
  expect(text).toBe(
    [
      '=> 00B2010C00',
      '<= AABB9000',
      '=> 0020008108****************',
      '<= 9000',
      '=> 00B2020C00',
      '!! card-removed the card was removed',
      '',
    ].join('\n'),
  );
  expect(text).not.toContain('31323334');

  const replay = new ReplayTransport(text);
  const ch2 = new CardChannel(replay);
  expect(await ch2.run(readRecord({ record: 1, sfi: 1 }))).toEqual({
    kind: 'ok',
    data: fromHex('AABB'),
    endOfRecords: false,
    chained: false,
  });
  // A different PIN of the same length matches the redacted line: replay cannot know the PIN.
  expect(await ch2.run(verify(0x81, Buffer.from('39393939FFFFFFFF', 'hex')))).toEqual({ kind: 'ok' });
  await expect(ch2.run(readRecord({ record: 2, sfi: 1 }))).rejects.toBeInstanceOf(CardRemovedError);
  replay.assertDone();
});

test('a different command fails loudly with the line number', async () => {
  const replay = new ReplayTransport('=> 00B2010C00\n<= 9000\n');
  await expect(replay.transmit(fromHex('00B2020C00'))).rejects.toThrow(/line 1: expected command 00B2010C00, got 00B2020C00/);
});

test('a missing exchange and leftovers fail loudly', async () => {
  const replay = new ReplayTransport('=> 00B2010C00\n<= 9000\n=> 00B2020C00\n<= 6A83\n');
  await replay.transmit(fromHex('00B2010C00'));
  expect(() => replay.assertDone()).toThrow(/2 entries left, next at line 3/);
  await replay.transmit(fromHex('00B2020C00'));
  replay.assertDone();
  await expect(replay.transmit(fromHex('00B2030C00'))).rejects.toBeInstanceOf(ReplayMismatchError);
});

test('a removal recorded between exchanges applies to the next command', async () => {
  const replay = new ReplayTransport('# card pulled\n!! card-removed\n');
  await expect(replay.transmit(fromHex('00A4040C00'))).rejects.toBeInstanceOf(CardRemovedError);
});

test('a redacted command does not match a different header or length', async () => {
  const replay = new ReplayTransport('=> 0020008108****************\n<= 9000\n');
  await expect(replay.transmit(fromHex('002000820431323334'))).rejects.toBeInstanceOf(ReplayMismatchError);
});

test('malformed transcripts are rejected with the line', () => {
  expect(() => parseTranscript('=> 00A4\n<= 90 0\n')).toThrow(TranscriptFormatError);
  expect(() => parseTranscript('=> 00A4\n<= 90 0\n')).toThrow(/line 2/);
  expect(() => parseTranscript('hello')).toThrow(/line 1/);
  expect(() => parseTranscript('<= 90**')).toThrow(/redacted/);
});
