import type { StationStatus } from '../counter/station';

/** `GET /api/readers`: the station's readers, each with its role and its card. */
export function readersOf(st: StationStatus): {
  mode: StationStatus['mode'];
  serviceAvailable: boolean;
  readers: {
    name: string;
    role: 'insured' | 'professional' | 'unassigned';
    card: { present: boolean; atr: string | null; application: StationStatus['readers'][number]['application'] };
  }[];
} {
  return {
    mode: st.mode,
    serviceAvailable: st.serviceAvailable,
    readers: st.readers.map((r) => ({
      name: r.name,
      role: r.role ?? 'unassigned',
      card: { present: r.cardPresent, atr: r.atr, application: r.application },
    })),
  };
}
