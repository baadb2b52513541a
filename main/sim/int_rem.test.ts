import { describe, expect, it } from 'vitest';
import { rem_pow2 } from './int_rem.ts';

describe('rem_pow2', () => {
  // Beyond 32 bits (GFNs, PFNs, packed entries), negative, and the -0 that `%` gives.
  const xs = [0, 1, -1, 511, 512, 513, -512, -513, 2 ** 31 + 7, 2 ** 40 - 1, 2 ** 40 + 5, 2 ** 52 + 12345, 2 ** 53 - 1, -(2 ** 45) + 3];
  const ds = [1, 8, 512, 4096, 262144, 2 ** 27, 2 ** 40];
  it.each(ds)('equals x %% %d', (d) => {
    for (const x of xs) expect(rem_pow2(x, d) === x % d, `${x} % ${d}`).toBe(true);
  });
});
