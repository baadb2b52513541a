// Child process for the kill test (store.test.ts): opens the database given as argv[2] and
// records one endless run, printing "chunk <n> <events>" after each committed chunk, until the
// parent kills it with SIGKILL. Bounded anyway (chunksMax) so a lost parent cannot leave it
// running forever.
import { Recorder } from '../recorder.ts';
import { Store } from '../store.ts';
import { generateRun } from './gen_events.ts';

const chunksMax = 100000;
const file = process.argv[2];
const store = Store.open(file, { recoverInterrupted: false });
const recorder = new Recorder(store.writable);
const runId = recorder.beginRun({ scenarioId: null, scenarioJson: '{"schema":"septwb/scenario@1"}', design: 'per-op', seed: 99, schedule: null, appVersion: 'test', threadNames: ['vcpu0', 'vcpu1'] });
let chunks = 0;
process.stdout.write(`run ${runId}\n`);
generateRun({
  seed: 5,
  threads: 2,
  faults: 10_000_000,
  chunkSize: 2000,
  onChunk: (c) => {
    recorder.writeChunk(c);
    chunks++;
    process.stdout.write(`chunk ${chunks} ${c.seqStart + c.count}\n`);
    if (chunks >= chunksMax) process.exit(3);
  },
});
