import { describe, expect, it } from 'vitest';
import { RafScheduler } from './raf_scheduler.ts';

/** A host whose frames run when the test says so. */
function manualHost() {
  const pending: (() => void)[] = [];
  return {
    host: { requestAnimationFrame: (cb: FrameRequestCallback) => (pending.push(() => cb(0)), pending.length), performance: { now: () => 0 } },
    runFrame: () => pending.splice(0, pending.length).forEach((f) => f()),
    pendingCount: () => pending.length,
  };
}

describe('RafScheduler', () => {
  it('runs the frame’s actions before its redraws, and coalesces requests into one frame', () => {
    const m = manualHost();
    const raf = new RafScheduler(m.host);
    const log: string[] = [];
    raf.addCanvasRenderer(() => log.push('draw'));
    raf.scheduleRedraw();
    raf.scheduleAction(() => log.push('pan'));
    raf.scheduleAction(() => log.push('zoom'));
    expect(m.pendingCount()).toBe(1);
    m.runFrame();
    expect(log).toEqual(['pan', 'zoom', 'draw']);
    expect(raf.frameTimesMs().length).toBe(1);
  });

  it('an action queued by an action runs in the next frame', () => {
    const m = manualHost();
    const raf = new RafScheduler(m.host);
    const log: string[] = [];
    raf.scheduleAction(() => {
      log.push('first');
      raf.scheduleAction(() => log.push('second'));
    });
    m.runFrame();
    expect(log).toEqual(['first']);
    m.runFrame();
    expect(log).toEqual(['first', 'second']);
  });

  it('a removed renderer is not called again', () => {
    const m = manualHost();
    const raf = new RafScheduler(m.host);
    let draws = 0;
    const remove = raf.addCanvasRenderer(() => draws++);
    m.runFrame();
    remove();
    raf.scheduleRedraw();
    m.runFrame();
    expect(draws).toBe(1);
  });
});
