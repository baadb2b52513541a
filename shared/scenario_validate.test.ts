/// <reference types="vite/client" />
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseScenarioText, SCENARIO_LIMITS, validateScenario } from './scenario_validate.ts';
import { DESIGN_IDS, OP_NAMES, SEAMCALL_NAMES, scenarioOps, vcpuIndexOf } from './scenario.ts';
import { locateJsonPath, parseJsonPath } from './json_locate.ts';
import schemaJson from './scenario.schema.json';

// The built-in library, loaded through Vite's glob import so this file needs no Node API.
const libraryTexts = import.meta.glob('../scenarios/*.json', { query: '?raw', import: 'default', eager: true }) as Record<string, string>;
const library = Object.entries(libraryTexts).map(([file, text]) => ({ file: file.replace('../scenarios/', ''), text }));

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

/** A small valid scenario to mutate: two vCPUs, a private slot and a shared slot. */
function base(): Json {
  return {
    schema: 'septwb/scenario@1',
    name: 't',
    vm: {
      vcpus: 2,
      privateHugePages: true,
      memslots: [
        { id: 0, baseGfn: '0x0', pages: 0x1000, private: true },
        { id: 1, baseGfn: '0x10000', pages: 0x100 },
      ],
    },
    phases: [{ name: 'p', threads: { vcpu0: [{ op: 'fault', gfn: '0x10' }] } }],
  };
}

/** base() with the first thread's operations replaced. */
function withOps(ops: Json[], thread = 'vcpu0', mutateVm?: (vm: Json) => void): Json {
  const s = base();
  s.phases[0].threads = { [thread]: ops };
  mutateVm?.(s.vm);
  return s;
}

const OP0 = '$.phases[0].threads.vcpu0[0]';

describe('built-in library', () => {
  it('has the scenarios the issue asks for', () => {
    expect(library.length).toBeGreaterThanOrEqual(20);
  });

  it.each(library)('$file validates', ({ text }) => {
    const r = parseScenarioText(text);
    expect(r.ok ? [] : r.errors).toEqual([]);
  });

  it.each(library)('$file says what it shows and names its hazard or idea', ({ text }) => {
    const s = JSON.parse(text);
    expect(s.description).toMatch(/Look at:/);
    expect(s.description).toMatch(/\b(H\d+|[Ii]dea \d+|[Bb]enchmark|[Bb]aseline)/);
  });

  it.each(library)('$file agrees with the JSON Schema', ({ text }) => {
    expect(schemaErrors(JSON.parse(text))).toEqual([]);
  });

  it('keeps the large benchmark at 262144 faults and the rest small', () => {
    for (const { file, text } of library) {
      const r = parseScenarioText(text);
      if (!r.ok) continue;
      const count = scenarioOps(r.scenario).length;
      if (file === 'fault-range-1gib-4k.json') expect(r.scenario.phases[0].threads.vcpu0[0]).toMatchObject({ op: 'fault-range', pages: 262144 });
      else expect(count).toBeLessThanOrEqual(12);
    }
  });
});

describe('validateScenario: invalid values name their path', () => {
  const table: { name: string; input: () => Json; path: string; problem: RegExp }[] = [
    { name: 'not an object', input: () => [], path: '$', problem: /expected an object, got an array/ },
    { name: 'name wrong type', input: () => ({ ...base(), name: 5 }), path: '$.name', problem: /expected a string, got 5/ },
    { name: 'name empty', input: () => ({ ...base(), name: '' }), path: '$.name', problem: /1\.\.200 characters/ },
    { name: 'name too long', input: () => ({ ...base(), name: 'x'.repeat(201) }), path: '$.name', problem: /got 201/ },
    { name: 'schema version', input: () => ({ ...base(), schema: 'septwb/scenario@2' }), path: '$.schema', problem: /only version/ },
    { name: 'schema missing', input: () => { const s = base(); delete s.schema; return s; }, path: '$.schema', problem: /required/ },
    { name: 'vm missing', input: () => { const s = base(); delete s.vm; return s; }, path: '$.vm', problem: /required/ },
    { name: 'unknown top field', input: () => ({ ...base(), phase: [] }), path: '$.phase', problem: /unknown field "phase"/ },
    { name: 'case typo hint', input: () => ({ ...base(), Seed: 3 }), path: '$.Seed', problem: /did you mean "seed"/ },
    { name: 'rootLevel 3', input: () => { const s = base(); s.vm.rootLevel = 3; return s; }, path: '$.vm.rootLevel', problem: /expected 4 or 5/ },
    { name: 'vcpus 0', input: () => { const s = base(); s.vm.vcpus = 0; return s; }, path: '$.vm.vcpus', problem: /integer 1\.\.64, got 0/ },
    { name: 'vcpus 65', input: () => { const s = base(); s.vm.vcpus = 65; return s; }, path: '$.vm.vcpus', problem: /got 65/ },
    { name: 'vcpus string', input: () => { const s = base(); s.vm.vcpus = '2'; return s; }, path: '$.vm.vcpus', problem: /got "2"/ },
    { name: 'vcpus NaN', input: () => { const s = base(); s.vm.vcpus = NaN; return s; }, path: '$.vm.vcpus', problem: /got NaN/ },
    { name: 'tdState', input: () => { const s = base(); s.vm.tdState = 'running'; return s; }, path: '$.vm.tdState', problem: /"initialized", "runnable"/ },
    { name: 'feature unknown', input: () => { const s = base(); s.vm.features = { dynamicPamt: true }; return s; }, path: '$.vm.features.dynamicPamt', problem: /unknown field/ },
    { name: 'memslots empty', input: () => { const s = base(); s.vm.memslots = []; return s; }, path: '$.vm.memslots', problem: /1\.\.64 entries, got 0/ },
    { name: 'memslot id reused', input: () => { const s = base(); s.vm.memslots[1].id = 0; return s; }, path: '$.vm.memslots[1].id', problem: /already used/ },
    { name: 'memslots overlap', input: () => { const s = base(); s.vm.memslots[1].baseGfn = '0xfff'; return s; }, path: '$.vm.memslots[1].baseGfn', problem: /overlaps memslot 0/ },
    { name: 'memslot above the shared bit', input: () => { const s = base(); s.vm.memslots[1] = { id: 1, baseGfn: 2 ** 35 - 1, pages: 2 }; return s; }, path: '$.vm.memslots[1].pages', problem: /shared bit/ },
    { name: 'memslot bad hex', input: () => { const s = base(); s.vm.memslots[1].baseGfn = '0x'; return s; }, path: '$.vm.memslots[1].baseGfn', problem: /expected a GFN/ },
    { name: 'designs empty', input: () => ({ ...base(), designs: [] }), path: '$.designs', problem: /1\.\.4 entries/ },
    { name: 'unknown design', input: () => ({ ...base(), designs: ['per-op', 'strawman'] }), path: '$.designs[1]', problem: /expected one of "per-op"/ },
    { name: 'design twice', input: () => ({ ...base(), designs: ['unified', 'unified'] }), path: '$.designs[1]', problem: /listed twice/ },
    { name: 'seed negative', input: () => ({ ...base(), seed: -1 }), path: '$.seed', problem: /0\.\.4294967295/ },
    { name: 'seed 2^32', input: () => ({ ...base(), seed: 2 ** 32 }), path: '$.seed', problem: /got 4294967296/ },
    { name: 'seed fraction', input: () => ({ ...base(), seed: 1.5 }), path: '$.seed', problem: /got 1\.5/ },
    { name: 'seed huge', input: () => ({ ...base(), seed: 1e400 }), path: '$.seed', problem: /got Infinity/ },
    { name: 'schedule kind', input: () => ({ ...base(), schedule: 'random' }), path: '$.schedule', problem: /"seeded", "round-robin"/ },
    { name: 'schedule type', input: () => ({ ...base(), schedule: 5 }), path: '$.schedule', problem: /array of thread names/ },
    { name: 'schedule unknown thread', input: () => ({ ...base(), schedule: ['vcpu0', 'vcpu1'] }), path: '$.schedule[1]', problem: /no thread "vcpu1"/ },
    { name: 'schedule entry type', input: () => ({ ...base(), schedule: ['vcpu0', 7] }), path: '$.schedule[1]', problem: /expected a thread name/ },
    { name: 'inject seamcall', input: () => ({ ...base(), inject: [{ seamcall: 'TDH.MEM.FOO', nth: 1, status: 'TDX_OPERAND_BUSY' }] }), path: '$.inject[0].seamcall', problem: /expected one of/ },
    { name: 'inject unknown status', input: () => ({ ...base(), inject: [{ seamcall: 'TDH.MEM.TRACK', nth: 1, status: 'TDX_FOO' }] }), path: '$.inject[0].status', problem: /unknown TDX status "TDX_FOO"/ },
    { name: 'inject status shape', input: () => ({ ...base(), inject: [{ seamcall: 'TDH.MEM.TRACK', nth: 1, status: 'busy' }] }), path: '$.inject[0].status', problem: /TDX status name like/ },
    { name: 'inject unknown operand', input: () => ({ ...base(), inject: [{ seamcall: 'TDH.MEM.TRACK', nth: 1, status: 'TDX_OPERAND_BUSY|XYZ' }] }), path: '$.inject[0].status', problem: /unknown operand "XYZ"/ },
    { name: 'inject nth 0', input: () => ({ ...base(), inject: [{ seamcall: 'TDH.MEM.TRACK', nth: 0, status: 'TDX_OPERAND_BUSY' }] }), path: '$.inject[0].nth', problem: /1\.\.1000000000, got 0/ },
    { name: 'inject status missing', input: () => ({ ...base(), inject: [{ seamcall: 'TDH.MEM.TRACK', nth: 1 }] }), path: '$.inject[0].status', problem: /required/ },
    { name: 'inject overlap', input: () => ({ ...base(), inject: [{ seamcall: 'TDH.MEM.TRACK', nth: 1, status: 'TDX_OPERAND_BUSY', times: 2 }, { seamcall: 'TDH.MEM.TRACK', nth: 2, status: 'TDX_OPERAND_BUSY' }] }), path: '$.inject[1].nth', problem: /already covered by inject\[0\]/ },
    { name: 'phases empty', input: () => ({ ...base(), phases: [] }), path: '$.phases', problem: /1\.\.1000 entries, got 0/ },
    { name: 'too many phases', input: () => ({ ...base(), phases: Array.from({ length: 1001 }, (_, i) => ({ name: `p${i}`, threads: { vcpu0: [{ op: 'vcpu-exit' }] } })) }), path: '$.phases', problem: /got 1001/ },
    { name: 'phase name reused', input: () => { const s = base(); s.phases.push(structuredClone(s.phases[0])); return s; }, path: '$.phases[1].name', problem: /already used by phases\[0\]/ },
    { name: 'no threads', input: () => { const s = base(); s.phases[0].threads = {}; return s; }, path: '$.phases[0].threads', problem: /1\.\.128 threads, got 0/ },
    { name: 'empty op list', input: () => withOps([]), path: '$.phases[0].threads.vcpu0', problem: /entries, got 0/ },
    { name: 'vcpu index = vcpus', input: () => withOps([{ op: 'fault', gfn: 1 }], 'vcpu2'), path: '$.phases[0].threads.vcpu2', problem: /needs vm\.vcpus > 2 \(vcpus is 2\)/ },
    { name: 'vcpu leading zero', input: () => withOps([{ op: 'finalize' }], 'vcpu01'), path: '$.phases[0].threads.vcpu01', problem: /without leading zeros/ },
    { name: 'thread name pattern', input: () => withOps([{ op: 'finalize' }], 'Ioctl'), path: '$.phases[0].threads.Ioctl', problem: /\^\[a-z\]/ },
    { name: 'thread __proto__', input: () => JSON.parse('{"schema":"septwb/scenario@1","name":"t","vm":{"memslots":[{"id":0,"baseGfn":0,"pages":16,"private":true}]},"phases":[{"name":"p","threads":{"__proto__":[{"op":"teardown"}]}}]}'), path: '$.phases[0].threads.__proto__', problem: /thread name/ },
    { name: 'unknown op', input: () => withOps([{ op: 'migrate', gfn: 1 }]), path: `${OP0}.op`, problem: /expected one of "fault"/ },
    { name: 'op missing', input: () => withOps([{ gfn: 1 }]), path: `${OP0}.op`, problem: /required/ },
    { name: 'op not an object', input: () => withOps(['fault']), path: OP0, problem: /expected an object, got "fault"/ },
    { name: 'unknown op field', input: () => withOps([{ op: 'fault', gfn: 1, pages: 2 }]), path: `${OP0}.pages`, problem: /unknown field "pages"/ },
    { name: 'gfn missing', input: () => withOps([{ op: 'fault' }]), path: `${OP0}.gfn`, problem: /required/ },
    { name: 'bad hex: empty digits', input: () => withOps([{ op: 'fault', gfn: '0x' }]), path: `${OP0}.gfn`, problem: /expected a GFN/ },
    { name: 'bad hex: letters', input: () => withOps([{ op: 'fault', gfn: '0xzz' }]), path: `${OP0}.gfn`, problem: /got "0xzz"/ },
    { name: 'bad hex: decimal string', input: () => withOps([{ op: 'fault', gfn: '1234' }]), path: `${OP0}.gfn`, problem: /expected a GFN/ },
    { name: 'gfn negative', input: () => withOps([{ op: 'fault', gfn: -1 }]), path: `${OP0}.gfn`, problem: /got -1/ },
    { name: 'gfn fraction', input: () => withOps([{ op: 'fault', gfn: 0.5 }]), path: `${OP0}.gfn`, problem: /got 0\.5/ },
    { name: 'gfn past the slot', input: () => withOps([{ op: 'fault', gfn: '0x1000' }]), path: `${OP0}.gfn`, problem: /0x1000 is in no memslot/ },
    { name: 'range past the slot', input: () => withOps([{ op: 'zap-range', gfn: '0xfff', pages: 2 }], 'ioctl'), path: '$.phases[0].threads.ioctl[0].pages', problem: /run past the end of memslot 0 \(last gfn 0xfff\)/ },
    { name: 'pages 0', input: () => withOps([{ op: 'punch-hole', gfn: 0, pages: 0 }], 'ioctl'), path: '$.phases[0].threads.ioctl[0].pages', problem: /got 0/ },
    { name: '2M fault misaligned', input: () => withOps([{ op: 'fault', gfn: '0x201', level: '2M' }]), path: `${OP0}.gfn`, problem: /2M-aligned gfn \(a multiple of 0x200\), got 0x201/ },
    { name: '2M without privateHugePages', input: () => withOps([{ op: 'fault', gfn: '0x200', level: '2M' }], 'vcpu0', (vm) => { vm.privateHugePages = false; }), path: `${OP0}.level`, problem: /privateHugePages/ },
    { name: '2M accept past the slot end', input: () => withOps([{ op: 'accept', gfn: '0x1000', level: '2M' }], 'vcpu0', (vm) => { vm.memslots[0].pages = 0x1100; }), path: `${OP0}.gfn`, problem: /512 pages from 0x1000 run past/ },
    { name: '2M fault-range pages', input: () => withOps([{ op: 'fault-range', gfn: 0, pages: 100, level: '2M' }]), path: `${OP0}.pages`, problem: /multiples of 512/ },
    { name: 'level 1G on fault', input: () => withOps([{ op: 'fault', gfn: 0, level: '1G' }]), path: `${OP0}.level`, problem: /"4K", "2M"/ },
    { name: 'accept level missing', input: () => withOps([{ op: 'accept', gfn: 0 }]), path: `${OP0}.level`, problem: /required/ },
    { name: 'zap-nonleaf-shared at 4K', input: () => withOps([{ op: 'zap-nonleaf-shared', gfn: 0, level: '4K' }], 'ioctl'), path: '$.phases[0].threads.ioctl[0].level', problem: /"2M", "1G"/ },
    { name: 'promote misaligned', input: () => withOps([{ op: 'promote', gfn: '0x10' }], 'ioctl'), path: '$.phases[0].threads.ioctl[0].gfn', problem: /2M-aligned/ },
    { name: 'private op on a shared slot', input: () => withOps([{ op: 'accept', gfn: '0x10000', level: '4K' }]), path: `${OP0}.gfn`, problem: /needs private memory, but memslot 1 is not private/ },
    { name: 'private fault on a shared slot', input: () => withOps([{ op: 'fault', gfn: '0x10000', private: true }]), path: `${OP0}.private`, problem: /needs private memory/ },
    { name: 'guest op on a host thread', input: () => withOps([{ op: 'fault', gfn: 1 }], 'ioctl'), path: '$.phases[0].threads.ioctl[0].op', problem: /guest-side operation and needs a vcpuN thread/ },
    { name: 'populate in a runnable TD', input: () => withOps([{ op: 'populate', gfn: 0, pages: 1 }], 'ioctl'), path: '$.phases[0].threads.ioctl[0].op', problem: /tdState "initialized"/ },
    { name: 'memslot-delete unknown slot', input: () => withOps([{ op: 'memslot-delete', slot: 7 }], 'ioctl'), path: '$.phases[0].threads.ioctl[0].slot', problem: /no memslot with id 7/ },
    { name: 'convert target', input: () => withOps([{ op: 'convert', gfn: 0, pages: 1, to: 'secret' }], 'ioctl'), path: '$.phases[0].threads.ioctl[0].to', problem: /"shared", "private"/ },
    { name: 'wrprot lock missing', input: () => withOps([{ op: 'wrprot-leaf', gfn: 0 }], 'ioctl'), path: '$.phases[0].threads.ioctl[0].lock', problem: /required/ },
    { name: 'teardown variant', input: () => withOps([{ op: 'teardown', variant: 'fast' }], 'teardown'), path: '$.phases[0].threads.teardown[0].variant', problem: /"ordered"/ },
    { name: 'zeroStep type', input: () => withOps([{ op: 'vcpu-enter', zeroStep: 'yes' }]), path: `${OP0}.zeroStep`, problem: /true or false/ },
    { name: 'expanded ops limit', input: () => withOps([{ op: 'fault-range', gfn: 0, pages: 2 ** 24 }], 'vcpu0', (vm) => { vm.memslots = [{ id: 0, baseGfn: 0, pages: 2 ** 25, private: true }]; }), path: '$.phases', problem: /expand to 16777216 operations; the limit is 10000000/ },
    { name: 'view cursor', input: () => ({ ...base(), view: { cursor: -1 } }), path: '$.view.cursor', problem: /got -1/ },
    { name: 'view annotation design', input: () => ({ ...base(), view: { annotations: [{ seq: 1, text: 'x', design: 'v3' }] } }), path: '$.view.annotations[0].design', problem: /expected one of/ },
    { name: 'view lane type', input: () => ({ ...base(), view: { pinnedLanes: [3] } }), path: '$.view.pinnedLanes[0]', problem: /expected a string/ },
    { name: 'non-plain object', input: () => ({ ...base(), vm: new Date(0) }), path: '$.vm', problem: /plain object/ },
    { name: 'accessor property', input: () => { const s = base(); Object.defineProperty(s, 'name', { get: () => 't', enumerable: true }); return s; }, path: '$.name', problem: /accessor/ },
    { name: 'proxy that throws', input: () => new Proxy({}, { ownKeys: () => { throw new Error('boom'); } }), path: '$', problem: /could not be read/ },
    { name: 'sparse array hole', input: () => { const s = base(); s.phases[0].threads.vcpu0 = new Array(2); s.phases[0].threads.vcpu0[1] = { op: 'vcpu-exit' }; return s; }, path: OP0, problem: /expected an object, got nothing/ },
  ];

  it.each(table)('$name', ({ input, path, problem }) => {
    const r = validateScenario(input());
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const hit = r.errors.find((e) => e.path === path);
    expect(hit, JSON.stringify(r.errors)).toBeDefined();
    expect(hit!.problem).toMatch(problem);
  });
});

describe('validateScenario: the edge between valid and invalid', () => {
  const table: { name: string; valid: () => Json; invalid: () => Json }[] = [
    { name: 'gfn: last page of the slot vs one past', valid: () => withOps([{ op: 'fault', gfn: '0xfff' }]), invalid: () => withOps([{ op: 'fault', gfn: '0x1000' }]) },
    { name: 'range: ends at the slot end vs one past', valid: () => withOps([{ op: 'split', gfn: '0xf00', pages: 0x100 }], 'ioctl'), invalid: () => withOps([{ op: 'split', gfn: '0xf00', pages: 0x101 }], 'ioctl') },
    { name: 'vcpu: index vcpus-1 vs vcpus', valid: () => withOps([{ op: 'vcpu-exit' }], 'vcpu1'), invalid: () => withOps([{ op: 'vcpu-exit' }], 'vcpu2') },
    { name: '2M: aligned vs one off', valid: () => withOps([{ op: 'accept', gfn: '0x400', level: '2M' }]), invalid: () => withOps([{ op: 'accept', gfn: '0x3ff', level: '2M' }]) },
    { name: 'seed: 2^32-1 vs 2^32', valid: () => ({ ...base(), seed: 2 ** 32 - 1 }), invalid: () => ({ ...base(), seed: 2 ** 32 }) },
    { name: 'vcpus: 64 vs 65', valid: () => { const s = base(); s.vm.vcpus = 64; return s; }, invalid: () => { const s = base(); s.vm.vcpus = 65; return s; } },
    { name: 'phases: 1000 vs 1001', valid: () => ({ ...base(), phases: Array.from({ length: 1000 }, (_, i) => ({ name: `p${i}`, threads: { vcpu0: [{ op: 'vcpu-exit' }] } })) }), invalid: () => ({ ...base(), phases: Array.from({ length: 1001 }, (_, i) => ({ name: `p${i}`, threads: { vcpu0: [{ op: 'vcpu-exit' }] } })) }) },
    {
      name: 'expanded ops: 10,000,000 vs one more',
      valid: () => withOps([{ op: 'fault-range', gfn: 0, pages: 10_000_000 }], 'vcpu0', (vm) => { vm.memslots = [{ id: 0, baseGfn: 0, pages: 2 ** 24, private: true }]; }),
      invalid: () => withOps([{ op: 'fault-range', gfn: 0, pages: 10_000_000 }, { op: 'vcpu-exit' }], 'vcpu0', (vm) => { vm.memslots = [{ id: 0, baseGfn: 0, pages: 2 ** 24, private: true }]; }),
    },
    { name: 'memslot: ends at the shared bit vs past it', valid: () => { const s = base(); s.vm.memslots[1] = { id: 1, baseGfn: 2 ** 35 - 1, pages: 1 }; return s; }, invalid: () => { const s = base(); s.vm.memslots[1] = { id: 1, baseGfn: 2 ** 35 - 1, pages: 2 }; return s; } },
    { name: 'memslot: 5-level root raises the limit', valid: () => { const s = base(); s.vm.rootLevel = 5; s.vm.memslots[1] = { id: 1, baseGfn: 2 ** 35, pages: 2 }; return s; }, invalid: () => { const s = base(); s.vm.memslots[1] = { id: 1, baseGfn: 2 ** 35, pages: 2 }; return s; } },
    { name: 'name: 200 vs 201 characters', valid: () => ({ ...base(), name: 'x'.repeat(200) }), invalid: () => ({ ...base(), name: 'x'.repeat(201) }) },
    { name: 'status: known operand vs unknown', valid: () => ({ ...base(), inject: [{ seamcall: 'TDH.MEM.SEPT.ADD', nth: 1, status: 'TDX_OPERAND_BUSY|SEPT' }] }), invalid: () => ({ ...base(), inject: [{ seamcall: 'TDH.MEM.SEPT.ADD', nth: 1, status: 'TDX_OPERAND_BUSY|SEPTX' }] }) },
    { name: 'injections: adjacent vs overlapping', valid: () => ({ ...base(), inject: [{ seamcall: 'TDH.MEM.TRACK', nth: 1, status: 'TDX_OPERAND_BUSY', times: 2 }, { seamcall: 'TDH.MEM.TRACK', nth: 3, status: 'TDX_OPERAND_BUSY' }] }), invalid: () => ({ ...base(), inject: [{ seamcall: 'TDH.MEM.TRACK', nth: 1, status: 'TDX_OPERAND_BUSY', times: 2 }, { seamcall: 'TDH.MEM.TRACK', nth: 2, status: 'TDX_OPERAND_BUSY' }] }) },
  ];
  it.each(table)('$name', ({ valid, invalid }) => {
    const good = validateScenario(valid());
    expect(good.ok ? [] : good.errors).toEqual([]);
    expect(validateScenario(invalid()).ok).toBe(false);
  });
});

describe('validateScenario: normalization', () => {
  it('fills defaults and turns hex GFNs into numbers', () => {
    const r = validateScenario(withOps([
      { op: 'fault', gfn: '0x10' },
      { op: 'fault', gfn: '0x10005' },
      { op: 'vcpu-enter' },
    ]));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const s = r.scenario;
    expect(s.vm).toMatchObject({ rootLevel: 4, vcpus: 2, tdState: 'runnable', features: { enhanceDemoteInterruptibility: true } });
    expect(s.vm.memslots[1]).toEqual({ id: 1, baseGfn: 0x10000, pages: 0x100, private: false });
    expect(s).toMatchObject({ description: '', designs: ['per-op', 'unified'], seed: 1, schedule: 'seeded', inject: [], view: { annotations: [], cursor: 0, pinnedLanes: [] } });
    expect(s.phases[0].threads.vcpu0).toEqual([
      { op: 'fault', gfn: 0x10, level: '4K', private: true },
      { op: 'fault', gfn: 0x10005, level: '4K', private: false },
      { op: 'vcpu-enter', zeroStep: false },
    ]);
  });

  it('lists every error, not only the first', () => {
    const s = withOps([{ op: 'fault', gfn: '0xzz' }, { op: 'bogus' }]);
    s.seed = -1;
    s.vm.vcpus = 0;
    const r = validateScenario(s);
    expect(r.ok ? [] : r.errors.map((e) => e.path).sort()).toEqual(['$.phases[0].threads.vcpu0[0].gfn', '$.phases[0].threads.vcpu0[1].op', '$.seed', '$.vm.vcpus']);
  });

  it('caps the error list on hostile input', () => {
    const r = validateScenario(withOps(Array.from({ length: 5000 }, () => ({ op: 'x' }))));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.length).toBe(SCENARIO_LIMITS.errorsMax + 1);
    expect(r.errors[r.errors.length - 1]).toEqual({ path: '$', problem: expect.stringMatching(/more than 1000 errors/) });
  });

  it('keeps prototype keys as plain data', () => {
    const r = validateScenario(JSON.parse('{"schema":"septwb/scenario@1","name":"t","__proto__":{"polluted":1},"vm":{"memslots":[{"id":0,"baseGfn":0,"pages":16}]},"phases":[{"name":"p","threads":{"vcpu0":[{"op":"vcpu-exit"}]}}]}'));
    expect(r.ok ? [] : r.errors).toEqual([{ path: '$.__proto__', problem: 'unknown field "__proto__"' }]);
    expect(({} as Json).polluted).toBeUndefined();
  });

  it('accepts a thread named like an Object.prototype member', () => {
    const r = validateScenario(withOps([{ op: 'teardown' }], 'constructor'));
    expect(r.ok).toBe(true);
    if (r.ok) expect(Object.keys(r.scenario.phases[0].threads)).toEqual(['constructor']);
  });
});

describe('scenarioOps', () => {
  it('numbers operations by phase, then thread, then index, and expands nothing', () => {
    const s = base();
    s.phases = [
      { name: 'a', threads: { vcpu1: [{ op: 'vcpu-enter' }], vcpu0: [{ op: 'fault-range', gfn: 0, pages: 64 }, { op: 'vcpu-exit' }] } },
      { name: 'b', threads: { ioctl: [{ op: 'zap-range', gfn: 0, pages: 64 }] } },
    ];
    const r = validateScenario(s);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(scenarioOps(r.scenario).map((o) => [o.ordinal, o.phase, o.thread, o.index, o.op.op])).toEqual([
      [0, 0, 'vcpu1', 0, 'vcpu-enter'],
      [1, 0, 'vcpu0', 0, 'fault-range'],
      [2, 0, 'vcpu0', 1, 'vcpu-exit'],
      [3, 1, 'ioctl', 0, 'zap-range'],
    ]);
  });

  it.each([['vcpu0', 0], ['vcpu63', 63], ['vcpu01', -1], ['vcpu', -1], ['ioctl', -1], ['vcpu1x', -1]] as const)('vcpuIndexOf(%s) = %d', (name, want) => {
    expect(vcpuIndexOf(name)).toBe(want);
  });
});

describe('parseScenarioText', () => {
  it('locates a syntax error', () => {
    const r = parseScenarioText('{\n  "schema": "septwb/scenario@1",\n  "name": "x",,\n}');
    expect(r).toEqual({ ok: false, errors: [{ path: '$', problem: expect.stringMatching(/^invalid JSON: expected a property name/), line: 3, column: 15 }] });
  });

  it('locates validation errors, and a missing field at its parent', () => {
    const text = JSON.stringify(withOps([{ op: 'fault', gfn: '0xzz' }]), null, 2).replace('"name": "t",\n', '');
    const r = parseScenarioText(text);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const gfn = r.errors.find((e) => e.path === `${OP0}.gfn`)!;
    expect(text.split('\n')[gfn.line! - 1].slice(gfn.column! - 1)).toMatch(/^"0xzz"/);
    const name = r.errors.find((e) => e.path === '$.name')!;
    expect([name.line, name.column]).toEqual([1, 1]);
  });

  it('accepts a byte order mark and keeps columns', () => {
    const r = parseScenarioText(`\uFEFF${JSON.stringify(base())}`);
    expect(r.ok).toBe(true);
  });

  it('refuses a text above the size limit before parsing it', () => {
    const r = parseScenarioText(' '.repeat(SCENARIO_LIMITS.textLengthMax + 1));
    expect(r.ok ? '' : r.errors[0].problem).toMatch(/the limit is/);
  });

  it('survives deep nesting', () => {
    const r = parseScenarioText(`{"schema":${'['.repeat(100_000)}${']'.repeat(100_000)}}`);
    expect(r.ok).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------
// The JSON Schema file. No JSON-Schema validator package is installed, so this is a small
// interpreter for exactly the keywords our schema uses; an unknown keyword fails the test, so
// the schema cannot grow a keyword this check silently ignores.

const ANNOTATION_KEYWORDS = new Set(['description', 'title', '$schema', '$id', '$defs']);

function resolve(ref: string): Json {
  const name = /^#\/\$defs\/(.+)$/.exec(ref);
  if (name === null) throw new Error(`unsupported $ref ${ref}`);
  return (schemaJson as Json).$defs[name[1]];
}

function typeOk(type: string, v: unknown): boolean {
  switch (type) {
    case 'object': return typeof v === 'object' && v !== null && !Array.isArray(v);
    case 'array': return Array.isArray(v);
    case 'string': return typeof v === 'string';
    case 'integer': return Number.isInteger(v);
    case 'boolean': return typeof v === 'boolean';
    default: throw new Error(`unsupported type ${type}`);
  }
}

function schemaErrors(v: unknown, s: Json = schemaJson, path = '$'): string[] {
  const errs: string[] = [];
  const o = v as Json;
  for (const [k, x] of Object.entries(s as Record<string, Json>)) {
    if (ANNOTATION_KEYWORDS.has(k)) continue;
    switch (k) {
      case '$ref': errs.push(...schemaErrors(v, resolve(x), path)); break;
      case 'type': if (!typeOk(x, v)) errs.push(`${path}: type ${x}`); break;
      case 'const': if (v !== x) errs.push(`${path}: const`); break;
      case 'enum': if (!x.includes(v)) errs.push(`${path}: enum`); break;
      case 'anyOf': if (!x.some((b: Json) => schemaErrors(v, b, path).length === 0)) errs.push(`${path}: anyOf`); break;
      case 'oneOf': if (x.filter((b: Json) => schemaErrors(v, b, path).length === 0).length !== 1) errs.push(`${path}: oneOf`); break;
      case 'pattern': if (typeof v === 'string' && !new RegExp(x, 'u').test(v)) errs.push(`${path}: pattern`); break;
      case 'minLength': if (typeof v === 'string' && v.length < x) errs.push(`${path}: minLength`); break;
      case 'maxLength': if (typeof v === 'string' && v.length > x) errs.push(`${path}: maxLength`); break;
      case 'minimum': if (typeof v === 'number' && v < x) errs.push(`${path}: minimum`); break;
      case 'maximum': if (typeof v === 'number' && v > x) errs.push(`${path}: maximum`); break;
      case 'minItems': if (Array.isArray(v) && v.length < x) errs.push(`${path}: minItems`); break;
      case 'maxItems': if (Array.isArray(v) && v.length > x) errs.push(`${path}: maxItems`); break;
      case 'uniqueItems': if (Array.isArray(v) && new Set(v.map((e) => JSON.stringify(e))).size !== v.length) errs.push(`${path}: uniqueItems`); break;
      case 'items': if (Array.isArray(v)) v.forEach((e, i) => errs.push(...schemaErrors(e, x, `${path}[${i}]`))); break;
      case 'required': if (typeOk('object', v)) for (const r of x) if (!Object.hasOwn(o, r)) errs.push(`${path}.${r}: required`); break;
      case 'minProperties': if (typeOk('object', v) && Object.keys(o).length < x) errs.push(`${path}: minProperties`); break;
      case 'maxProperties': if (typeOk('object', v) && Object.keys(o).length > x) errs.push(`${path}: maxProperties`); break;
      case 'propertyNames': if (typeOk('object', v)) for (const n of Object.keys(o)) errs.push(...schemaErrors(n, x, `${path}.${n}(name)`)); break;
      case 'properties': if (typeOk('object', v)) for (const [n, p] of Object.entries(x)) if (Object.hasOwn(o, n)) errs.push(...schemaErrors(o[n], p, `${path}.${n}`)); break;
      case 'additionalProperties': {
        if (!typeOk('object', v)) break;
        const known = Object.keys((s as Json).properties ?? {});
        for (const n of Object.keys(o).filter((n) => !known.includes(n))) {
          if (x === false) errs.push(`${path}.${n}: additional`);
          else errs.push(...schemaErrors(o[n], x, `${path}.${n}`));
        }
        break;
      }
      default: throw new Error(`schema keyword ${k} at ${path} is not checked by this test`);
    }
  }
  return errs;
}

describe('scenario.schema.json', () => {
  it('is draft 2020-12 and describes every property', () => {
    const schema = schemaJson as Json;
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    const missing: string[] = [];
    const walk = (node: Json, at: string): void => {
      if (typeof node !== 'object' || node === null) return;
      for (const [name, p] of Object.entries((node.properties ?? {}) as Record<string, Json>)) {
        if (typeof p.description !== 'string' && p.$ref === undefined) missing.push(`${at}.${name}`);
      }
      for (const [k, child] of Object.entries(node)) if (typeof child === 'object') walk(child, `${at}/${k}`);
    };
    walk(schema, '#');
    expect(missing).toEqual([]);
  });

  it('names the same designs, operations and SEAMCALLs as the code', () => {
    const schema = schemaJson as Json;
    expect(schema.properties.designs.items.enum).toEqual([...DESIGN_IDS]);
    expect(schema.$defs.op.oneOf.map((o: Json) => o.properties.op.const)).toEqual([...OP_NAMES]);
    expect(schema.$defs.injection.properties.seamcall.enum).toEqual([...SEAMCALL_NAMES]);
    expect(schema.properties.phases.maxItems).toBe(SCENARIO_LIMITS.phasesMax);
    expect(schema.$defs.vm.properties.vcpus.maximum).toBe(SCENARIO_LIMITS.vcpusMax);
  });

  it('rejects shape errors the validator rejects', () => {
    const shapeErrors: Json[] = [
      { ...base(), name: 5 },
      { ...base(), designs: ['strawman'] },
      withOps([{ op: 'migrate' }]),
      withOps([{ op: 'fault', gfn: '0xzz' }]),
      withOps([{ op: 'fault', gfn: 1, pages: 2 }]),
      withOps([{ op: 'vcpu-exit' }], 'vcpu01'),
      { ...base(), inject: [{ seamcall: 'TDH.MEM.TRACK', nth: 0, status: 'TDX_OPERAND_BUSY' }] },
    ];
    for (const s of shapeErrors) {
      expect(validateScenario(s).ok).toBe(false);
      expect(schemaErrors(s).length).toBeGreaterThan(0);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Fuzz: mutated built-ins and generated scenarios.

/** Every path (as segments) to a value inside v, the root included. */
function pathsOf(v: Json, at: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(at);
  if (Array.isArray(v)) v.forEach((e, i) => pathsOf(e, [...at, i], out));
  else if (typeof v === 'object' && v !== null) for (const k of Object.keys(v)) pathsOf(v[k], [...at, k], out);
  return out;
}

type Mutation = { kind: 'delete' | 'replace' | 'insert'; pick: number; junk: unknown; key: string };

function mutate(value: Json, m: Mutation): Json {
  const root = { v: structuredClone(value) };
  const paths = pathsOf(root.v);
  const path = paths[m.pick % paths.length];
  let parent: Json = root;
  let key: string | number = 'v';
  for (const seg of path) {
    parent = parent[key];
    key = seg;
  }
  if (m.kind === 'delete' && Array.isArray(parent)) parent.splice(key as number, 1);
  else if (m.kind === 'delete') delete parent[key];
  else if (m.kind === 'replace') parent[key] = m.junk;
  else if (typeof parent[key] === 'object' && parent[key] !== null && !Array.isArray(parent[key])) parent[key][m.key] = m.junk;
  else if (Array.isArray(parent[key])) parent[key].push(m.junk);
  return root.v;
}

const junk = fc.oneof(
  fc.anything({ maxDepth: 2 }),
  fc.constantFrom(NaN, Infinity, -0, 2 ** 53, 1e308, '0x', '0x200', '__proto__', 'vcpu9', '2M', 'TDX_OPERAND_BUSY', null, [], {}),
  fc.constantFrom(...OP_NAMES).map((op) => ({ op, gfn: '0x200', pages: 512, level: '2M' })),
);
const mutation = fc.record({ kind: fc.constantFrom('delete', 'replace', 'insert') as fc.Arbitrary<Mutation['kind']>, pick: fc.nat(), junk, key: fc.oneof(fc.string(), fc.constantFrom('__proto__', 'gfn', 'level', 'private', 'times', 'constructor')) });

/** What must hold for any input: no throw, paths from `$` that parse, round-trip when valid. */
function checkResult(input: unknown): void {
  const r = validateScenario(input);
  if (!r.ok) {
    expect(r.errors.length).toBeGreaterThan(0);
    for (const e of r.errors) {
      expect(e.path.startsWith('$')).toBe(true);
      expect(parseJsonPath(e.path), e.path).not.toBeNull();
      expect(typeof e.problem).toBe('string');
    }
    return;
  }
  const again = validateScenario(JSON.parse(JSON.stringify(r.scenario)));
  expect(again).toEqual({ ok: true, scenario: r.scenario });
  // A JSON input the validator accepts, the published schema accepts too.
  const json = JSON.stringify(input);
  if (json !== undefined) expect(schemaErrors(JSON.parse(json))).toEqual([]);
}

describe('fuzz', () => {
  const builtins = library.map(({ text }) => JSON.parse(text) as Json);

  it('mutated built-ins: never throws, paths start with $, valid mutants round-trip', () => {
    fc.assert(fc.property(fc.nat(), fc.array(mutation, { minLength: 1, maxLength: 4 }), (which, mutations) => {
      let s = builtins[which % builtins.length];
      for (const m of mutations) s = mutate(s, m);
      checkResult(s);
    }), { numRuns: 1500 });
  });

  const gfnArb = fc.oneof(fc.nat({ max: 0x1200 }), fc.nat({ max: 0x1200 }).map((n) => `0x${n.toString(16)}`));
  // Each operation gets only the fields the schema lists for it, each present or not.
  const opFields = new Map<string, string[]>((schemaJson as Json).$defs.op.oneOf.map((o: Json) => [o.properties.op.const, Object.keys(o.properties).filter((k) => k !== 'op')]));
  const fieldArb: Record<string, fc.Arbitrary<unknown>> = {
    gfn: gfnArb,
    pages: fc.integer({ min: 0, max: 1100 }),
    level: fc.constantFrom('4K', '2M', '1G'),
    private: fc.boolean(),
    to: fc.constantFrom('shared', 'private'),
    lock: fc.constantFrom('read', 'write'),
    slot: fc.nat({ max: 2 }),
    tables: fc.boolean(),
    zeroStep: fc.boolean(),
    variant: fc.constantFrom('ordered', 'no-gmem-close', 'zap-roots-before-hkid'),
  };
  const opArb: fc.Arbitrary<Json> = fc.constantFrom(...OP_NAMES).chain((op) => {
    const fields = opFields.get(op) ?? [];
    return fc.record({ op: fc.constant(op), ...Object.fromEntries(fields.map((k) => [k, fieldArb[k]])) }, { requiredKeys: ['op'] });
  });
  const scenarioArb = fc.record({
    vcpus: fc.integer({ min: 1, max: 4 }),
    tdState: fc.constantFrom('initialized', 'runnable'),
    huge: fc.boolean(),
    phases: fc.array(fc.dictionary(fc.constantFrom('vcpu0', 'vcpu1', 'vcpu3', 'ioctl', 'teardown'), fc.array(opArb, { minLength: 1, maxLength: 4 }), { minKeys: 1, maxKeys: 3 }), { minLength: 1, maxLength: 3 }),
    schedule: fc.oneof(fc.constant('seeded'), fc.array(fc.constantFrom('vcpu0', 'vcpu1', 'ioctl'), { minLength: 1, maxLength: 5 })),
  }).map((g) => ({
    schema: 'septwb/scenario@1',
    name: 'gen',
    vm: { vcpus: g.vcpus, tdState: g.tdState, privateHugePages: g.huge, memslots: [{ id: 0, baseGfn: 0, pages: 0x1000, private: true }, { id: 1, baseGfn: '0x1000', pages: 0x100 }] },
    schedule: g.schedule,
    phases: g.phases.map((threads, i) => ({ name: `p${i}`, threads })),
  }));

  it('generated scenarios: never throws, every error is locatable in the text', () => {
    let valid = 0;
    fc.assert(fc.property(scenarioArb, (s) => {
      checkResult(s);
      const text = JSON.stringify(s, null, 1);
      const r = parseScenarioText(text);
      if (r.ok) valid++;
      else for (const e of r.errors) expect(locateJsonPath(text, e.path), e.path).not.toBeNull();
    }), { numRuns: 1500 });
    // The generator must reach both sides, or the property says little.
    expect(valid).toBeGreaterThan(10);
  });
});
