// Compiled (not run) under moduleResolution node16 and bundler, strict, without skipLibCheck:
// the exports map's types conditions must give every entry point its declarations.
import { ChifaCard, CardChannel, selectAid, INSURED_AID, type CardTransport, type CardData, type PinResult } from 'chifa-terminal';
import { PcscTransport, ReaderMonitor, type PcscBackend, type ReaderInfo } from 'chifa-terminal/pcsc';
import { VirtualCard, InProcessTransport, type CardImage } from 'chifa-terminal/emulator';
import { quote, loadRules, type QuoteRequest, type Quote, type Centimes } from 'chifa-terminal/billing';
import { Journal, Uploader, draftFromSplit, type Signer, type InvoiceDraft } from 'chifa-terminal/sync';
import { FundServer, parseFaults, type FundAudit } from 'chifa-terminal/fund';
import { startCard, startFund, insuredImage, tearNextAppend, type InProcessCard, type TestFund } from 'chifa-terminal/testing';

export async function typed(signer: Signer, backend: PcscBackend): Promise<void> {
  const transport: CardTransport = new InProcessTransport(VirtualCard.fromImage('demo.json'));
  const card: ChifaCard = await ChifaCard.open(transport);
  const pin: PinResult = await card.verifyPin('1234');
  const all = await card.readAll();
  const data: CardData | undefined = all.kind === 'ok' ? all.data : undefined;
  const selected = await new CardChannel(transport).run(selectAid(INSURED_AID));
  const readers: ReaderInfo[] = new ReaderMonitor({ backend }).readers();
  const pcsc: Promise<PcscTransport> = PcscTransport.connect('reader', { backend });
  const request: QuoteRequest = { date: '2025-06-01', category: 'ordinary', lines: [{ code: 'N02BE01-01', quantity: 1 }] };
  const q: Quote = quote(request, loadRules(), () => undefined);
  const total: Centimes = q.total;
  const journal = Journal.open('journal.sqlite', { signer });
  const draft: InvoiceDraft | undefined = undefined;
  const uploader = new Uploader(journal, { fund: 'http://127.0.0.1:8090' });
  const server = new FundServer({ dataDir: 'fund', faults: parseFaults('5xx=0.1') });
  const audit: FundAudit | undefined = undefined;
  const kit: InProcessCard = await startCard(insuredImage().blockedPin(), { faults: [tearNextAppend()] });
  const fund: TestFund = await startFund();
  const image: CardImage = insuredImage().build();
  void [pin, data, selected, readers, pcsc, total, draft, uploader, server, audit, kit, fund, image, draftFromSplit];
}
