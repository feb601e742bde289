import test from 'ava';
import fc from 'fast-check';
import { type InstanceState, type InstanceTransition, StoreError } from '../src/store/types.ts';
import { ecgInput, tempStore } from './helpers/store.ts';

type Op = 'encode' | 'enqueue' | 'deliver-start' | 'delivered' | 'retry' | 'quarantine';

/** The instance life cycle as a table: from which states each step may go. */
const MODEL: Record<Op, { from: readonly InstanceState[]; to: InstanceState }> = {
  encode: { from: ['captured'], to: 'encoded' },
  enqueue: { from: ['encoded'], to: 'queued' },
  'deliver-start': { from: ['queued', 'delivering'], to: 'delivering' },
  delivered: { from: ['delivering'], to: 'delivered' },
  retry: { from: ['delivering', 'queued'], to: 'queued' },
  quarantine: { from: ['captured', 'encoded', 'queued', 'delivering'], to: 'quarantined' },
};

function fixture() {
  const announced: InstanceTransition[] = [];
  const { store } = tempStore({ onTransition: (t) => announced.push(t) });
  let n = 0;
  const receive = async () => (await store.receive(ecgInput(Uint8Array.of(n >> 8, n++ & 0xff, 7)))).id;
  const apply = async (op: Op, id: number) => {
    switch (op) {
      case 'encode':
        return store.attachEncoded(id, {
          study: { uid: '1.2.3', patientId: null, patientName: null, birthDate: null, sex: null },
          seriesUid: `1.2.3.${id}`,
          sopUid: `1.2.3.${id}.1`,
          dicom: Uint8Array.of(1, 2, 3),
          warnings: [],
        });
      case 'enqueue':
        return store.enqueue(id);
      case 'deliver-start':
        return store.markDelivering(id, 'A');
      case 'delivered':
        return store.markDelivered(id, 'A', 200);
      case 'retry':
        return store.markRetry(id, 'HTTP 503', 0);
      case 'quarantine':
        return store.quarantine(id, 'undecodable', 'test');
    }
  };
  return { store, announced, receive, apply };
}

test('every step the life cycle allows is taken and announced once; every other is BAD_TRANSITION and changes nothing', async (t) => {
  const ops = Object.keys(MODEL) as Op[];
  await fc.assert(
    fc.asyncProperty(fc.array(fc.constantFrom(...ops), { maxLength: 12 }), async (sequence) => {
      const f = fixture();
      const id = await f.receive();
      const expected: InstanceTransition[] = [{ instanceId: id, state: 'captured', reason: null }];
      let state: InstanceState = 'captured';
      for (const op of sequence) {
        const step = MODEL[op];
        if (step.from.includes(state)) {
          await f.apply(op, id);
          state = step.to;
          expected.push({
            instanceId: id,
            state,
            reason: op === 'retry' ? 'HTTP 503' : op === 'quarantine' ? 'test' : null,
          });
        } else {
          const error = await t.throwsAsync(() => f.apply(op, id), { instanceOf: StoreError });
          t.is(error?.code, 'BAD_TRANSITION');
          t.true(error?.message.includes(`is ${state}`), error?.message);
        }
        t.is(f.store.get(id).state, state);
      }
      t.deepEqual(f.announced, expected);
      f.store.close();
    }),
    { numRuns: 60 },
  );
});

test('a step on an instance that does not exist says so', (t) => {
  const f = fixture();
  t.throws(() => f.store.enqueue(999), { instanceOf: StoreError, message: 'instance 999 does not exist' });
});

test('an incomplete transfer is announced as set aside, with its reason', async (t) => {
  const f = fixture();
  const id = (await f.store.receive({ ...ecgInput(Uint8Array.of(5)), incomplete: 'cut after 3 blocks' })).id;
  t.deepEqual(f.announced, [
    { instanceId: id, state: 'quarantined', reason: 'incomplete transfer: cut after 3 blocks' },
  ]);
});
