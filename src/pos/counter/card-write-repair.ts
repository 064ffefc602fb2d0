import type { CardWriteStore } from './card-writes';
import type { InvoiceJournalPort } from './journal';
import { recordsOfInvoice } from './records';

/**
 * Makes card_writes agree with the journal: an invoice without a row (the counter stopped
 * between the journal commit and the row) gets a pending write rebuilt from the signed invoice
 * — or a cancelled one if a credit note already cancels it; a pending write whose invoice has a
 * credit note (stopped between the credit note and the state change) becomes cancelled.
 */
export function repairCardWrites(journal: InvoiceJournalPort, writes: CardWriteStore): { created: number[]; cancelled: number[] } {
  const created: number[] = [];
  const cancelled: number[] = [];
  for (const number of journal.invoicesWithoutCardWrite()) {
    const inv = journal.invoice(number);
    if (!inv) continue;
    const credit = journal.creditNoteOf(number);
    writes.insert({
      invoiceNumber: number,
      cardSerial: inv.document.beneficiary.cardSerial,
      records: recordsOfInvoice(inv.document),
      state: credit === null ? 'pending' : 'cancelled',
      creditNote: credit,
    });
    created.push(number);
  }
  for (const w of writes.pending()) {
    const credit = journal.creditNoteOf(w.invoiceNumber);
    if (credit !== null) {
      writes.markCancelled(w.invoiceNumber, credit);
      cancelled.push(w.invoiceNumber);
    }
  }
  return { created, cancelled };
}
