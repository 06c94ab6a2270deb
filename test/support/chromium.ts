/**
 * Opens a page in Debian's headless Chromium (`bash test/env/observability.sh install`) over the
 * DevTools protocol, with the `ws` client: console errors and uncaught exceptions are collected,
 * and the page can be evaluated, screenshotted and printed. The flags keep Chromium off the
 * network it cannot reach here (background networking, component updates, sync, QUIC).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';

const CHROMIUM = '/usr/bin/chromium';

export interface OpenedPage {
  /** console.error/assert calls, uncaught exceptions and browser log entries at level error. */
  errors: string[];
  evaluate<T>(expression: string): Promise<T>;
  screenshot(): Promise<Buffer>;
  pdf(): Promise<Buffer>;
  close(): Promise<void>;
}

interface Pending {
  resolve(v: Record<string, unknown>): void;
  reject(e: Error): void;
}

export async function openInChromium(url: string, size = { width: 1280, height: 1600 }): Promise<OpenedPage> {
  const profile = mkdtempSync(join(tmpdir(), 'kubemate-chromium-'));
  const browser: ChildProcess = spawn(
    CHROMIUM,
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      `--user-data-dir=${profile}`,
      '--remote-debugging-port=0',
      `--window-size=${size.width},${size.height}`,
      'about:blank',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const wsUrl = await new Promise<string>((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(
      () => reject(new Error(`Chromium did not start within 30 s:\n${seen.slice(-2000)}`)),
      30_000,
    );
    browser.stderr!.on('data', (d: Buffer) => {
      seen += d.toString();
      const m = /DevTools listening on (ws:\/\/\S+)/.exec(seen);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    browser.once('error', reject);
    browser.once('exit', (code) => reject(new Error(`Chromium exited with ${code}:\n${seen.slice(-2000)}`)));
  });
  const ws = new WebSocket(wsUrl, { perMessageDeflate: false });
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  let nextId = 1;
  const pending = new Map<number, Pending>();
  const listeners: Array<(method: string, params: Record<string, unknown>) => void> = [];
  ws.on('message', (raw) => {
    const msg = JSON.parse(raw.toString()) as {
      id?: number;
      result?: Record<string, unknown>;
      error?: { message: string };
      method?: string;
      params?: Record<string, unknown>;
    };
    if (msg.id !== undefined) {
      const p = pending.get(msg.id);
      pending.delete(msg.id);
      if (msg.error) p?.reject(new Error(msg.error.message));
      else p?.resolve(msg.result ?? {});
    } else if (msg.method) {
      for (const l of listeners) l(msg.method, msg.params ?? {});
    }
  });
  let sessionId: string | undefined;
  const send = (method: string, params: Record<string, unknown> = {}) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      ws.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }));
    });

  const { targetId } = (await send('Target.createTarget', { url: 'about:blank' })) as { targetId: string };
  sessionId = ((await send('Target.attachToTarget', { targetId, flatten: true })) as { sessionId: string })
    .sessionId;
  const errors: string[] = [];
  listeners.push((method, params) => {
    if (method === 'Runtime.consoleAPICalled' && ['error', 'assert'].includes(String(params.type))) {
      errors.push(`console.${params.type}: ${JSON.stringify(params.args)}`);
    } else if (method === 'Runtime.exceptionThrown') {
      errors.push(`exception: ${JSON.stringify(params.exceptionDetails)}`);
    } else if (method === 'Log.entryAdded') {
      const entry = params.entry as { level: string; text: string; url?: string };
      if (entry.level === 'error') errors.push(`log: ${entry.text}${entry.url ? ` (${entry.url})` : ''}`);
    }
  });
  await send('Runtime.enable');
  await send('Log.enable');
  await send('Page.enable');
  await send('Emulation.setDeviceMetricsOverride', { ...size, deviceScaleFactor: 1, mobile: false });
  const loaded = new Promise<void>((resolve) =>
    listeners.push((method) => method === 'Page.loadEventFired' && resolve()),
  );
  await send('Page.navigate', { url });
  await loaded;

  return {
    errors,
    async evaluate<T>(expression: string): Promise<T> {
      const r = (await send('Runtime.evaluate', { expression, returnByValue: true })) as {
        result: { value: T };
        exceptionDetails?: unknown;
      };
      if (r.exceptionDetails) throw new Error(`evaluation failed: ${JSON.stringify(r.exceptionDetails)}`);
      return r.result.value;
    },
    async screenshot() {
      const r = (await send('Page.captureScreenshot', { format: 'png' })) as { data: string };
      return Buffer.from(r.data, 'base64');
    },
    async pdf() {
      const r = (await send('Page.printToPDF', {})) as { data: string };
      return Buffer.from(r.data, 'base64');
    },
    async close() {
      ws.close();
      if (browser.exitCode === null) {
        const exited = new Promise((resolve) => browser.once('exit', resolve));
        browser.kill('SIGTERM');
        const timer = setTimeout(() => browser.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      // Chromium's helper processes can outlive the browser by a moment and still write into the
      // profile: retry, and leave a temporary folder behind rather than fail a test over cleanup.
      try {
        rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
      } catch {}
    },
  };
}
