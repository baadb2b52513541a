import { describe, expect, it } from 'vitest';
import { chunk_event, type EventChunk, type SimEvent } from '../../shared/event.ts';
import { EventSink, EventString } from './event_sink.ts';

/** A small stream with spans that straddle chunk boundaries, instants with values, and statuses. */
function emit(sink: EventSink): void {
  sink.setOp(0, 0);
  sink.begin(0, 'op', 'fault-range');
  for (let i = 0; i < 20; i++) {
    sink.begin(0, 'mmu', 'kvm_tdp_mmu_map', i, 1, 'private');
    sink.instant(0, 'mmu', 'try_cmpxchg64', i, 1, 'mirror', 0x7ff, 0x1000 + i);
    sink.instant(1, 'tdx', 'S-EPT entry', i, 1, 'sept', 0, 2 ** 45 + i, '', i % 2 === 0 ? 'FREE -> PENDING' : '');
    sink.end(0, 'RET_PF_FIXED', `fault ${i}`);
  }
  sink.end(0);
  sink.finish();
}

describe('EventSink chunk reuse', () => {
  it('hands over the same content with and without reuse when the consumer copies inside onChunk', () => {
    const runs = [false, true].map((reuseChunks) => {
      const rows: SimEvent[] = [];
      const patches: number[][] = [];
      const seen = new Set<EventChunk>();
      const strings: string[] = [''];
      const sink = new EventSink({
        chunkSize: 7,
        reuseChunks,
        onChunk: (c) => {
          seen.add(c);
          strings.push(...c.strings);
          for (let i = 0; i < c.count; i++) rows.push(chunk_event(c, i, strings));
          patches.push([...c.endPatches], [...c.statusPatches]);
        },
      });
      emit(sink);
      return { rows, patches, chunkObjects: seen.size, hash: sink.hash() };
    });
    expect(runs[1].rows).toEqual(runs[0].rows);
    expect(runs[1].patches).toEqual(runs[0].patches);
    expect(runs[1].hash).toBe(runs[0].hash);
    expect(runs[0].rows.length).toBe(61);
    // Reuse really reuses: one chunk object for the whole stream, a new one per chunk without.
    expect(runs[1].chunkObjects).toBe(1);
    expect(runs[0].chunkObjects).toBeGreaterThan(1);
  });

  it('never reuses with keep: the kept chunks are the run\'s own copies', () => {
    const kept = new EventSink({ chunkSize: 7, keep: true, reuseChunks: true, onChunk: () => {} });
    emit(kept);
    const plain = new EventSink({ chunkSize: 7, keep: true });
    emit(plain);
    expect(kept.events()).toEqual(plain.events());
  });

  it('the stream hash depends on every hashed field', () => {
    // The hash covers string ids, so every sink interns the same strings in the same order.
    const newSink = (): EventSink => {
      const s = new EventSink();
      for (const text of ['x', 'y', 's', 't', 'd', 'e']) s.intern(text);
      return s;
    };
    const base = newSink();
    base.instant(0, 'mmu', 'x', 5, 1, 'mirror', 1, 2, 's', 'd');
    const variants = [
      (s: EventSink) => s.instant(1, 'mmu', 'x', 5, 1, 'mirror', 1, 2, 's', 'd'),
      (s: EventSink) => s.instant(0, 'tdx', 'x', 5, 1, 'mirror', 1, 2, 's', 'd'),
      (s: EventSink) => s.instant(0, 'mmu', 'y', 5, 1, 'mirror', 1, 2, 's', 'd'),
      (s: EventSink) => s.instant(0, 'mmu', 'x', 6, 1, 'mirror', 1, 2, 's', 'd'),
      (s: EventSink) => s.instant(0, 'mmu', 'x', 5, 2, 'mirror', 1, 2, 's', 'd'),
      (s: EventSink) => s.instant(0, 'mmu', 'x', 5, 1, 'sept', 1, 2, 's', 'd'),
      (s: EventSink) => s.instant(0, 'mmu', 'x', 5, 1, 'mirror', 2 ** 45 + 1, 2, 's', 'd'),
      (s: EventSink) => s.instant(0, 'mmu', 'x', 5, 1, 'mirror', 1, null, 's', 'd'),
      (s: EventSink) => s.instant(0, 'mmu', 'x', 5, 1, 'mirror', 1, 2, 't', 'd'),
      (s: EventSink) => s.instant(0, 'mmu', 'x', 5, 1, 'mirror', 1, 2, 's', 'e'),
    ];
    const hashes = new Set([base.hash()]);
    for (const v of variants) {
      const s = newSink();
      v(s);
      hashes.add(s.hash());
    }
    expect(hashes.size).toBe(variants.length + 1);
    expect(base.hash()).toMatch(/^[0-9a-f]{16}$/);
  });
});

describe('EventString', () => {
  // The same stream written with plain strings and with EventStrings, in two sinks used in turn
  // (an EventString's cached id belongs to one sink): same events, same hash.
  it('gives the events and hash of the plain strings, per sink', () => {
    const NAME = new EventString('handle_changed_spte');
    const DETAIL = new EventString('private');
    const write = (sink: EventSink, text: boolean): void => {
      sink.begin(0, 'mmu', 'op');
      sink.instant(0, 'mmu', 'other', 1, 1);
      sink.begin(0, 'mmu', text ? 'handle_changed_spte' : NAME, 5, 1, text ? 'private' : DETAIL);
      sink.end(0, text ? 'private' : DETAIL, text ? 'handle_changed_spte' : NAME);
      sink.end(0);
    };
    const plain = new EventSink({ keep: true });
    const a = new EventSink({ keep: true });
    const b = new EventSink({ keep: true });
    b.intern('shifts every id of b by one');
    const bPlain = new EventSink({ keep: true });
    bPlain.intern('shifts every id of b by one');
    for (let i = 0; i < 2; i++) {
      write(plain, true);
      write(a, false);
      write(bPlain, true);
      write(b, false);
    }
    expect(a.events()).toEqual(plain.events());
    expect(a.hash()).toBe(plain.hash());
    expect(b.events()).toEqual(bPlain.events());
    expect(b.hash()).toBe(bPlain.hash());
    expect(b.hash()).not.toBe(a.hash());
  });
});

describe('EventSink.intern', () => {
  // intern() answers repeats from a cache slot chosen by length and last character: strings
  // that share a slot must still get their own ids, in first-use order, however they alternate.
  it('gives each string one id, in first-use order, when strings share a cache slot', () => {
    const sink = new EventSink();
    // All four fall in slot 59; the last is built at run time: equal text, another string object.
    const sameSlot = ['WRITE_ONCE', 'read_lockE', 'try_cmpxd', ['WRITE', 'ONCE'].join('_')];
    const ids = sameSlot.map((s) => sink.intern(s));
    expect(ids).toEqual([1, 2, 3, 1]);
    for (let round = 0; round < 3; round++) {
      for (let i = sameSlot.length - 1; i >= 0; i--) expect(sink.intern(sameSlot[i])).toBe(ids[i]);
    }
    expect(sink.intern('')).toBe(0);
    expect(sink.strings).toEqual(['', 'WRITE_ONCE', 'read_lockE', 'try_cmpxd']);
  });
});
