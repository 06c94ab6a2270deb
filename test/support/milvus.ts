import { afterAll, beforeAll } from 'vitest';
import { startMilvus, type TestMilvus } from '../env/milvus.js';

/** A milvus-lite server for the calling test file: started before its tests, stopped after them. */
export function milvusForFile(): { readonly address: string } {
  let milvus: TestMilvus | undefined;
  beforeAll(async () => {
    milvus = await startMilvus();
  }, 180_000);
  afterAll(async () => {
    await milvus?.stop();
  });
  return {
    get address() {
      if (!milvus) throw new Error('milvus-lite is not started yet: use it inside tests or hooks');
      return milvus.address;
    },
  };
}
