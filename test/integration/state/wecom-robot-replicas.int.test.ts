// The WeCom intelligent robot with two `kubemate serve` replicas on one real PostgreSQL: WeCom allows
// one long connection per robot and replies go back over it, so only the replica holding the
// `wecom-robot` lease connects (the other never subscribes, and never takes the robot over); a message
// is answered over that connection; and when the holder is SIGKILLed the other replica connects
// within the lease time and answers the next message. The robot's side is the local server speaking
// WeCom's long-connection protocol (test/support/wecom-aibot-server.ts).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../support/kube.js';
import { freshDatabase, startStatePostgres, stopStatePostgres } from '../../support/pg-state.js';
import { type Served, startServe } from '../../support/serve.js';
import {
  BOT_ID,
  BOT_SECRET,
  startWecomAibotServer,
  type WecomAibotServer,
} from '../../support/wecom-aibot-server.js';

const LEASE_SECONDS = 3;
let robot: WecomAibotServer;
const replicas: Partial<Record<'a' | 'b', Served>> = {};

function env(name: 'a' | 'b', url: string, policyFile: string): Record<string, string> {
  return {
    KUBEMATE_STATE__URL: url,
    KUBEMATE_STATE__LEASE_SECONDS: String(LEASE_SECONDS),
    KUBEMATE_DATA_DIR: mkdtempSync(join(tmpdir(), `kubemate-robot-${name}-`)),
    KUBEMATE_POLICY__FILE: policyFile,
    KUBEMATE_LOG__LEVEL: 'info',
    KUBEMATE_BOTS__WECOM: JSON.stringify({
      enabled: true,
      mode: 'long-connection',
      botId: BOT_ID,
      secret: BOT_SECRET,
      url: robot.url,
    }),
  };
}

async function robotLeaseHeld(r: Served): Promise<boolean> {
  const text = await (await fetch(`http://127.0.0.1:${r.port}/metrics`)).text();
  return /kubemate_lease_held\{lease="wecom-robot"\} 1/.test(text);
}

/** Sends a person's message and waits for the robot's reply to it in that chat. */
async function answered(user: string): Promise<string> {
  const before = robot.chat(user).length;
  robot.pushMessage({ user, text: 'who am I?' });
  const reply = await waitFor(
    `a reply to ${user}`,
    async () =>
      robot
        .chat(user)
        .slice(before)
        .find((m) => m.content),
    20_000,
  );
  return reply.content!;
}

beforeAll(async () => {
  robot = await startWecomAibotServer();
  const url = freshDatabase(await startStatePostgres());
  const dir = mkdtempSync(join(tmpdir(), 'kubemate-robot-replicas-'));
  const policyFile = join(dir, 'policy.yaml');
  writeFileSync(policyFile, 'version: 1\nidentities: {}\nbindings: []\n');
  const connected = robot.connected();
  [replicas.a, replicas.b] = await Promise.all([
    startServe(env('a', url, policyFile)),
    startServe(env('b', url, policyFile)),
  ]);
  await connected;
}, 120_000);

afterAll(async () => {
  await Promise.all(Object.values(replicas).map((r) => r?.stop()));
  await robot?.close();
  await stopStatePostgres();
}, 60_000);

describe('the WeCom intelligent robot with two replicas on one PostgreSQL', () => {
  it('one replica holds the connection, answers over it, and the other takes over after a SIGKILL', async () => {
    const [a, b] = [replicas.a!, replicas.b!];
    const holderName = await waitFor(
      'a replica to hold the wecom-robot lease',
      async () => ((await robotLeaseHeld(a)) ? 'a' : (await robotLeaseHeld(b)) ? 'b' : undefined),
      20_000,
    );
    const [holder, other] = holderName === 'a' ? [a, b] : [b, a];
    // Several renewals later still one subscription: the other replica never connected.
    await new Promise((r) => setTimeout(r, LEASE_SECONDS * 1000));
    expect(await robotLeaseHeld(other)).toBe(false);
    expect(robot.subscribes.filter((s) => s.ok)).toHaveLength(1);
    expect(robot.opened()).toBe(1);
    expect(await answered('zhangsan')).toContain("I don't know who you are yet");

    const subscribed = robot.connected();
    const killedAt = Date.now();
    holder.child.kill('SIGKILL');
    await subscribed;
    // The lease runs out, the other replica takes it and subscribes (its first try is immediate).
    expect(Date.now() - killedAt).toBeLessThanOrEqual(LEASE_SECONDS * 1000 + 3000);
    expect(await robotLeaseHeld(other)).toBe(true);
    expect(robot.subscribes.filter((s) => s.ok)).toHaveLength(2);
    expect(await answered('lisi')).toContain("I don't know who you are yet");
  }, 120_000);
});
