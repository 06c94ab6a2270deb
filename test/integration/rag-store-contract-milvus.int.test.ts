// The shared RunbookStore contract (rag-store-contract.ts) against a real Milvus: milvus-lite's
// gRPC server on loopback, one collection per test.
import { MilvusStore } from '../../rag/store/milvus.js';
import type { RunbookStore } from '../../rag/types.js';
import { milvusForFile } from '../support/milvus.js';
import { runbookStoreContract } from './rag-store-contract.js';

const milvus = milvusForFile();

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
