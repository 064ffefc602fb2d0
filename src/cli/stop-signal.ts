/**
 * Resolves on the first SIGINT or SIGTERM, with its name: how a long-running command (a server,
 * a monitor, the emulator) learns to shut down. Both handlers go at once, so a second signal
 * during the shutdown ends the process the default way.
 */
export function untilStopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(signal);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
