import { untilStopSignal } from '../../src/cli/stop-signal';

test('resolves with the first stop signal and leaves no handler behind', async () => {
  const before = [process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')];
  const stopped = untilStopSignal();
  expect([process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')]).toEqual([before[0]! + 1, before[1]! + 1]);
  process.emit('SIGTERM', 'SIGTERM');
  await expect(stopped).resolves.toBe('SIGTERM');
  expect([process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')]).toEqual(before);
});
