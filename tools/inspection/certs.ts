// Certificates are parsed here, inside Kubemate; only the subject, issuer, serial and dates ever
// leave this module (never the PEM, never key material).
import { X509Certificate } from 'node:crypto';
import tls from 'node:tls';

export interface CertificateFacts {
  subject: string;
  issuer: string;
  notBefore: string;
  notAfter: string;
  /** Days from `now` until notAfter (negative when expired). */
  daysLeft: number;
}

const DAY = 86_400_000;

function facts(cert: X509Certificate, now: number): CertificateFacts {
  const notAfter = new Date(cert.validTo);
  return {
    subject: cert.subject.replace(/\n/g, ', '),
    issuer: cert.issuer.replace(/\n/g, ', '),
    notBefore: new Date(cert.validFrom).toISOString(),
    notAfter: notAfter.toISOString(),
    daysLeft: Math.round(((notAfter.getTime() - now) / DAY) * 10) / 10,
  };
}

/** The leaf (first) certificate of a PEM bundle, or undefined when it holds none that parses. */
export function leafCertificate(pem: string, now: number): CertificateFacts | undefined {
  const first = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem)?.[0];
  if (!first) return undefined;
  try {
    return facts(new X509Certificate(first), now);
  } catch {
    return undefined;
  }
}

/** The certificate a TLS server presents (read without trusting it: only its dates are inspected). */
export function servingCertificate(
  url: string,
  now: number,
  signal: AbortSignal,
): Promise<CertificateFacts | undefined> {
  const u = new URL(url);
  if (u.protocol !== 'https:') return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: u.hostname,
      port: Number(u.port || 443),
      servername: /^[\d.:]+$/.test(u.hostname) ? undefined : u.hostname,
      rejectUnauthorized: false,
    });
    const onAbort = () => {
      socket.destroy();
      reject(new Error('cancelled'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    socket.setTimeout(10_000, () => {
      socket.destroy();
      reject(new Error(`no TLS handshake from ${u.host} within 10 s`));
    });
    socket.once('secureConnect', () => {
      const cert = socket.getPeerX509Certificate();
      socket.end();
      signal.removeEventListener('abort', onAbort);
      resolve(cert ? facts(cert, now) : undefined);
    });
    socket.once('error', (e) => {
      signal.removeEventListener('abort', onAbort);
      reject(e);
    });
  });
}
