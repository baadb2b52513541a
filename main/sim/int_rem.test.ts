import { describe, expect, it } from 'vitest';
import { reciprocals, rem_pow2, rem_pow2_inv } from './int_rem.ts';
import { PAGES_PER_LEVEL, PAGES_PER_LEVEL_INV, spteIndex } from './mmu/kvm_mmu.ts';

// Beyond 32 bits (GFNs, PFNs, packed entries), negative, and the -0 that `%` gives.
const xs = [0, 1, -1, 511, 512, 513, -512, -513, 2 ** 31 + 7, 2 ** 40 - 1, 2 ** 40 + 5, 2 ** 52 + 12345, 2 ** 53 - 1, -(2 ** 45) + 3];
const ds = [1, 8, 512, 4096, 262144, 2 ** 27, 2 ** 40];

describe('rem_pow2', () => {
  it.each(ds)('equals x %% %d', (d) => {
    for (const x of xs) expect(rem_pow2(x, d) === x % d, `${x} % ${d}`).toBe(true);
  });
});

describe('rem_pow2_inv', () => {
  const inv = reciprocals(ds);
  it.each(ds.map((d, i) => [d, i]))('equals x %% %d with the reciprocal for the division', (d, i) => {
    for (const x of xs) expect(rem_pow2_inv(x, d, inv[i]) === x % d, `${x} % ${d}`).toBe(true);
  });

  it('gives the page-table index the division gives, at every level', () => {
    for (let level = 1; level < PAGES_PER_LEVEL.length; level++) {
      for (const x of xs) {
        if (x < 0) continue;
        expect(spteIndex(x, level), `gfn ${x} level ${level}`).toBe(Math.floor(x / PAGES_PER_LEVEL[level]) % 512);
        expect(x * PAGES_PER_LEVEL_INV[level]).toBe(x / PAGES_PER_LEVEL[level]);
      }
    }
  });
});
