import { NoCardError as PcscNoCardError } from '../../../src/card/pcsc/errors';
import { CardRemovedError as TransportCardRemovedError } from '../../../src/card/transport/transport';
import {
  CardConflictError,
  CardGoneError,
  CardMissingError,
  CardOperationError,
  PinBlockedError,
  PinRequiredError,
} from '../../../src/pos/counter/errors';
import { translateCardError } from '../../../src/pos/counter/sdk-ports';
import { toHttpError } from '../../../src/pos/http/errors';

/**
 * The counter's card errors: their codes are what the page and API clients switch on, so they are
 * fixed here; the SDK's same-named errors (what a reader reports) become the counter's.
 */

test('each card-state error keeps its code and is a 409', () => {
  const cases: [CardConflictError, string][] = [
    [new CardMissingError(), 'no-card'],
    [new CardMissingError('professional'), 'no-professional-card'],
    [new CardGoneError(), 'card-removed'],
    [new PinRequiredError(), 'pin-required'],
    [new PinRequiredError('professional'), 'professional-pin-required'],
    [new PinBlockedError(), 'pin-blocked'],
    [new PinBlockedError('professional'), 'professional-pin-blocked'],
  ];
  for (const [err, code] of cases) {
    expect(err).toBeInstanceOf(CardConflictError);
    expect({ code: err.code, status: toHttpError(err).status }).toEqual({ code, status: 409 });
  }
});

test("the SDK's removed-card and no-card errors become the counter's, with the same codes", () => {
  const gone = translateCardError(new TransportCardRemovedError());
  expect(gone).toBeInstanceOf(CardGoneError);
  expect(gone).toMatchObject({ code: 'card-removed' });
  const missing = translateCardError(new PcscNoCardError('Reader 0'), 'professional');
  expect(missing).toBeInstanceOf(CardMissingError);
  expect(missing).toMatchObject({ code: 'no-professional-card' });
  // The counter's own errors pass through unchanged.
  const own = new CardOperationError('professional-auth-failed', 'refused');
  expect(translateCardError(own)).toBe(own);
});
