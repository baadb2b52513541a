// The Jobs area end to end: a real worker thread runs a built-in scenario under two designs and
// records both runs into a real SQLite file; progress arrives as events; cancel stops a long run.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunProgress } from '../../shared/api/jobs.ts';
import { parseScenarioText } from '../../shared/scenario_validate.ts';
import { runScenario } from '../sim/engine.ts';
import { openService, type OpenedService } from './service.ts';

const scenariosDir = join(import.meta.dirname, '..', '..', 'scenarios');
let dir = '';
let opened: OpenedService | null = null;

function open(): OpenedService {
  dir = mkdtempSync(join(tmpdir(), 'septwb-jobs-'));
  const r = openService({ dbFile: join(dir, 'w.db'), scenariosDir, appVersion: 'test', mode: 'browser' });
  if (!r.ok) throw new Error(r.message);
  opened = r.value;
  return r.value;
}

afterEach(() => {
  opened?.close();
  opened = null;
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

function waitForEnd(o: OpenedService, jobId: number): Promise<RunProgress[]> {
  const seen: RunProgress[] = [];
  return new Promise((resolve) => {
    o.events.subscribe((m) => {
      if (m.name !== 'onRunProgress') return;
      const p = m.payload as RunProgress;
      if (p.jobId !== jobId) return;
      seen.push(p);
      if (p.state !== 'running') resolve(seen);
    });
  });
}

describe('startRun', () => {
  it('runs a scenario under both designs in a worker and records the runs', async () => {
    const o = open();
    const json = readFileSync(join(scenariosDir, 'zap-4k.json'), 'utf8');
    const started = await o.service.startRun({ json, designs: ['per-op', 'unified'] });
    expect(started.ok).toBe(true);
    if (!started.ok) return;
    const progress = await waitForEnd(o, started.value.jobId);
    const last = progress[progress.length - 1];
    expect(last.state).toBe('done');
    expect(last.runIds).toHaveLength(2);
    const runs = last.runIds.map((id) => o.store.getRun(id));
    expect(runs.map((r) => r?.design)).toEqual(['per-op', 'unified']);
    for (const r of runs) {
      expect(r?.status).toBe('completed');
      expect(r?.eventCount).toBeGreaterThan(10);
    }
  });

  it('runs with the schedule the user picked instead of the scenario\'s', async () => {
    const o = open();
    const json = readFileSync(join(scenariosDir, 'race-link-same-table.json'), 'utf8');
    const parsed = parseScenarioText(json);
    if (!parsed.ok) throw new Error('built-in scenario invalid');
    // The scenario says round-robin; the user picks a seeded PRNG schedule for this run.
    const started = await o.service.startRun({ json, designs: ['unified'], schedule: 'seeded', seed: 3 });
    if (!started.ok) throw new Error(started.error.message);
    const progress = await waitForEnd(o, started.value.jobId);
    const run = o.store.getRun(progress[progress.length - 1].runIds[0]);
    const seeded = runScenario(parsed.scenario, { design: 'unified', schedule: 'seeded', seed: 3 });
    const asWritten = runScenario(parsed.scenario, { design: 'unified', seed: 3 });
    expect(run?.eventHash).toBe(seeded.hash);
    expect(seeded.hash).not.toBe(asWritten.hash);
  });

  it('refuses a bad scenario with the JSON path at fault', async () => {
    const o = open();
    const r = await o.service.startRun({ json: '{"schema": "septwb/scenario@1", "vm": 3}' });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe('bad-input');
    expect(r.error.message).toMatch(/\$\.vm/);
  });

  it('cancels a long run and keeps it, marked cancelled', async () => {
    const o = open();
    const json = readFileSync(join(scenariosDir, 'fault-range-1gib-4k.json'), 'utf8');
    const started = await o.service.startRun({ json, designs: ['unified'] });
    if (!started.ok) throw new Error(started.error.message);
    const ended = waitForEnd(o, started.value.jobId);
    await new Promise((r) => setTimeout(r, 1500));
    const c = await o.service.cancelRun({ jobId: started.value.jobId });
    expect(c.ok).toBe(true);
    const progress = await ended;
    const last = progress[progress.length - 1];
    expect(last.state).toBe('cancelled');
    expect(last.runIds).toHaveLength(1);
    expect(o.store.getRun(last.runIds[0])?.status).toBe('cancelled');
  });
});
