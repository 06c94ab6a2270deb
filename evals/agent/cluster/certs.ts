import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { CertificateSpec } from '../schema.js';
import type { Vars } from '../template.js';
import type { AdminRest } from './rest.js';

const run = promisify(execFile);

export interface GeneratedCert {
  cert: string;
  key: string;
  notAfter: Date;
}

/**
 * A real self-signed certificate valid for `days` from now, made with the openssl CLI (node:crypto
 * reads X.509 but cannot issue it). Expiry is relative to now, so it is made at setup time, never
 * committed. The test cluster's own setup already needs openssl.
 */
export async function selfSignedCert(
  commonName: string,
  dnsNames: string[],
  days: number,
): Promise<GeneratedCert> {
  const dir = await mkdtemp(join(tmpdir(), 'kubemate-eval-cert-'));
  try {
    const san = [commonName, ...dnsNames].map((d) => `DNS:${d}`).join(',');
    await run('openssl', [
      'req',
      '-x509',
      '-nodes',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-days',
      String(days),
      '-subj',
      `/CN=${commonName}`,
      '-addext',
      `subjectAltName=${san}`,
      '-keyout',
      join(dir, 'tls.key'),
      '-out',
      join(dir, 'tls.crt'),
    ]).catch((e: Error & { stderr?: string }) => {
      throw new Error(`openssl could not make a certificate for ${commonName}: ${e.stderr || e.message}`);
    });
    const [cert, key] = await Promise.all([
      readFile(join(dir, 'tls.crt'), 'utf8'),
      readFile(join(dir, 'tls.key'), 'utf8'),
    ]);
    return { cert, key, notAfter: new Date(new X509Certificate(cert).validTo) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A `kubernetes.io/tls` Secret holding a fresh certificate; the variables name its expiry. */
export async function createTlsSecret(rest: AdminRest, namespace: string, c: CertificateSpec): Promise<Vars> {
  const made = await selfSignedCert(c.commonName, c.dnsNames, c.days);
  await rest.create(
    {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'kubernetes.io/tls',
      metadata: { name: c.secret, annotations: c.annotations },
      data: {
        'tls.crt': Buffer.from(made.cert).toString('base64'),
        'tls.key': Buffer.from(made.key).toString('base64'),
      },
    },
    namespace,
  );
  return {
    [`${c.secret}.notAfter`]: made.notAfter.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    [`${c.secret}.notAfterDate`]: made.notAfter.toISOString().slice(0, 10),
  };
}
