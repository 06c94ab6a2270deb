// The shared RunbookStore contract (rag-store-contract.ts) against a real Milvus: milvus-lite's
// gRPC server on loopback, one collection per test.
import { afterAll, beforeAll } from 'vitest';
import { MilvusStore } from '../../rag/store/milvus.js';
import type { RunbookStore } from '../../rag/types.js';
import { startMilvus, type TestMilvus } from '../env/milvus.js';
import { runbookStoreContract } from './rag-store-contract.js';

let milvus: TestMilvus;
beforeAll(async () => {
  milvus = await startMilvus();
}, 180_000);
afterAll(async () => {
  await milvus?.stop();
});

const collections = new WeakMap<RunbookStore, string>();
let n = 0;

runbookStoreContract('Milvus (milvus-lite)', {
  async fresh() {
    const collection = `contract_${Date.now().toString(36)}_${++n}`;
    const store = new MilvusStore({ address: milvus.address, collection });
    collections.set(store, collection);
    return store;
  },
  async reopen(store) {
    const collection = collections.get(store)!;
    const again = new MilvusStore({ address: milvus.address, collection });
    collections.set(again, collection);
    return again;
  },
});
