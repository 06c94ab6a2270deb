import type { Spans } from './spans.js';

/**
 * Credentials recognised by their shape, whatever surrounds them. Every pattern starts with a
 * literal prefix and a look-behind that refuses to start inside a run of the same characters,
 * so an attempt can only begin where such a run begins: each pattern reads the text a bounded
 * number of times (linear time, whatever the input), and the literal lets the regex engine skip
 * ahead (about 0.2 ms per MB each).
 */

interface Shape {
  re: RegExp;
  /** Only the first capture group is the secret (the regex has the `d` flag). */
  group?: boolean;
}

const SHAPES: Shape[] = [
  // JSON Web Tokens (Kubernetes service account tokens, OIDC id tokens)
  { re: /(?<![\w-])eyJ[\w-]{5,}\.[\w-]{5,}\.[\w-]{5,}/g },
  // AWS access key ids (long-term and temporary)
  {
    re: /(?<![A-Za-z0-9])(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}(?![A-Za-z0-9])/g,
  },
  // GitHub, GitLab, npm, PyPI, Hugging Face, Slack, Stripe, Vault, DigitalOcean, Shopify, SendGrid, age, Grafana
  { re: /(?<!\w)gh[pousr]_[A-Za-z0-9]{20,}/g },
  { re: /(?<!\w)github_pat_\w{20,}/g },
  { re: /(?<![\w-])gl(?:pat|dt|rt|ptt|cbt|oas)-[\w-]{20,}/g },
  { re: /(?<!\w)npm_[A-Za-z0-9]{30,}/g },
  { re: /(?<![\w-])pypi-[\w-]{50,}/g },
  { re: /(?<!\w)hf_[A-Za-z0-9]{30,}/g },
  { re: /(?<![\w-])(?:xox[abposre]|xapp)-[A-Za-z0-9-]{10,}/g },
  { re: /(?<!\w)(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{10,}/g },
  { re: /(?<!\w)whsec_[A-Za-z0-9+/=]{10,}/g },
  { re: /(?<![\w.-])hv[sbr]\.[\w-]{20,}/g },
  { re: /(?<!\w)do[opr]_v1_[a-f0-9]{40,}/g },
  { re: /(?<!\w)shp(?:at|ca|pa|ss)_[a-fA-F0-9]{20,}/g },
  { re: /(?<![\w.-])SG\.[\w-]{16,}\.[\w-]{16,}/g },
  { re: /(?<![\w-])AGE-SECRET-KEY-1[A-Z0-9]{20,}/g },
  { re: /(?<!\w)glsa_[A-Za-z0-9]{20,}_[a-f0-9]{8}/g },
  // OpenAI, Anthropic and similar `sk-` keys: mixed case, which Kubernetes names never are
  { re: /(?<![\w-])sk-(?=[\w-]*[A-Z])(?=[\w-]*[a-z0-9])[\w-]{20,}/g },
  // Google API keys, OAuth access tokens and client secrets
  { re: /(?<![\w-])AIza[\w-]{30,}/g },
  { re: /(?<![\w.-])ya29\.[\w.-]{20,}/g },
  { re: /(?<![\w-])GOCSPX-[\w-]{20,}/g },
  // Authorization schemes written out: "Bearer <token>", "Basic <base64>"
  {
    group: true,
    re: /(?:bearer|basic)(?<![\w-](?:bearer|basic))[ \t]{1,8}([A-Za-z0-9._~+/=-]{8,})/dgi,
  },
  // scheme://user:password@host (the user may be empty; the password may hold an unencoded @)
  {
    group: true,
    // starts at "://", the scheme read by a look-behind: a regex starting with a letter class
    // would be tried at every letter of the text
    re: /:\/\/(?<=(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]{0,30}:\/\/)[^\s:/@]{0,256}:([^\s/]{1,256})@/dg,
  },
  // webhook URLs whose path is the credential
  {
    group: true,
    re: /hooks\.slack\.com\/(?:services|workflows|triggers)\/([\w/-]{8,})/dg,
  },
  {
    group: true,
    re: /\/api\/webhooks\/(?<=discord(?:app)?\.com\/api\/webhooks\/)\d{1,30}\/([\w-]{20,})/dg,
  },
];

export function findShapes(text: string, spans: Spans): void {
  for (const shape of SHAPES) {
    const re = shape.re;
    re.lastIndex = 0;
    for (let m = re.exec(text); m; m = re.exec(text)) {
      if (!shape.group) spans.add(m.index, m.index + m[0].length);
      else {
        const at = m.indices?.[1];
        if (at) spans.add(at[0], at[1]);
      }
    }
  }
}
