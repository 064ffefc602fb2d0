import { isLoopbackHost } from '../../src/common/loopback';

test.each([
  'localhost',
  'LOCALHOST',
  '127.0.0.1',
  '127.1.2.3',
  '::1',
  '[::1]',
  '0:0:0:0:0:0:0:1',
  '::ffff:127.0.0.1',
  '[::FFFF:127.9.9.9]',
])('%s is loopback', (h) => expect(isLoopbackHost(h)).toBe(true));

test.each(['0.0.0.0', '10.0.0.1', '128.0.0.1', '::', '::2', '::ffff:10.0.0.1', 'localhost.example.com', '127.0.0.1.nip.io', '', '[::1'])(
  '%s is not loopback',
  (h) => expect(isLoopbackHost(h)).toBe(false),
);
