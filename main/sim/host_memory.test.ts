import { describe, expect, it } from 'vitest';
import { HOST_PFN_BASE, HostMemory, PAGE_DIRECT_SPT, PAGE_EXTERNAL_SPT, PAGE_FREE, PAGE_GUEST_PRIVATE, PAGE_MIRROR_SPT } from './host_memory.ts';

describe('HostMemory', () => {
  it('allocates deterministically, tags owners, reuses freed pages LIFO', () => {
    const m = new HostMemory(4);
    const a = m.alloc(PAGE_MIRROR_SPT);
    const b = m.alloc(PAGE_DIRECT_SPT);
    expect([a, b]).toEqual([HOST_PFN_BASE, HOST_PFN_BASE + 1]);
    expect(m.ownerOf(a)).toBe(PAGE_MIRROR_SPT);
    m.free(a);
    expect(m.ownerOf(a)).toBe(PAGE_FREE);
    expect(m.alloc(PAGE_EXTERNAL_SPT)).toBe(a);
    expect(m.inUse[PAGE_EXTERNAL_SPT]).toBe(1);
    expect(m.inUse[PAGE_MIRROR_SPT]).toBe(0);
  });

  it.each([
    { pages: 512, align: 512 },
    { pages: 3, align: 1 },
    { pages: 262144, align: 262144 },
  ])('allocGuestRange($pages, $align) is aligned and tagged', ({ pages, align }) => {
    const m = new HostMemory(8);
    m.alloc(PAGE_MIRROR_SPT);
    const start = m.allocGuestRange(pages, align);
    expect(start % align).toBe(0);
    expect(m.ownerOf(start)).toBe(PAGE_GUEST_PRIVATE);
    expect(m.ownerOf(start + pages - 1)).toBe(PAGE_GUEST_PRIVATE);
    expect(m.ownerOf(start + pages)).toBe(PAGE_FREE);
    expect(m.inUse[PAGE_GUEST_PRIVATE]).toBe(pages);
  });

  it('rejects double free, bad alignment, free owner (our bugs)', () => {
    const m = new HostMemory();
    const a = m.alloc(PAGE_MIRROR_SPT);
    m.free(a);
    expect(() => m.free(a)).toThrow();
    expect(() => m.allocGuestRange(4, 3)).toThrow();
    expect(() => m.alloc(PAGE_FREE)).toThrow();
  });

  it('clone is independent', () => {
    const m = new HostMemory();
    const a = m.alloc(PAGE_MIRROR_SPT);
    const c = m.clone();
    c.free(a);
    expect(m.ownerOf(a)).toBe(PAGE_MIRROR_SPT);
    expect(c.ownerOf(a)).toBe(PAGE_FREE);
    expect(c.alloc(PAGE_DIRECT_SPT)).toBe(a);
    expect(m.alloc(PAGE_DIRECT_SPT)).toBe(a + 1);
  });
});
