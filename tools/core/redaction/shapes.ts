import type { Spans } from './spans.js';

/**
 * Credentials recognised by their shape, whatever surrounds them. Every pattern starts with a
 * literal prefix and a look-behind that refuses to start inside a run of the same characters,
 * so an attempt can only begin where such a run begins: each pattern reads the text a bounded
 * number of times (linear time, whatever the input). A pattern runs only when one of its
 * literal hints occurs in the text, which `includes` checks far faster than a regex scan.
 */

interface Shape {
  hints: string[];
  /** Hints are compared with the lower-cased text. */
  anyCase?: boolean;
  re: RegExp;
  /** Only the first capture group is the secret (the regex has the `d` flag). */
  group?: boolean;
}

const SHAPES: Shape[] = [
  // JSON Web Tokens (Kubernetes service account tokens, OIDC id tokens)
  { hints: ['eyJ'], re: /(?<![\w-])eyJ[\w-]{5,}\.[\w-]{5,}\.[\w-]{5,}/g },
  // AWS access key ids (long-term and temporary)
  {
    hints: ['AKIA', 'ASIA', 'ABIA', 'ACCA'],
    re: /(?<![A-Za-z0-9])(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}(?![A-Za-z0-9])/g,
  },
  // GitHub, GitLab, npm, PyPI, Hugging Face, Slack, Stripe, Vault, DigitalOcean, Shopify, SendGrid, age, Grafana
  { hints: ['gh'], re: /(?<!\w)gh[pousr]_[A-Za-z0-9]{20,}/g },
  { hints: ['github_pat_'], re: /(?<!\w)github_pat_\w{20,}/g },
  { hints: ['gl'], re: /(?<![\w-])gl(?:pat|dt|rt|ptt|cbt|oas)-[\w-]{20,}/g },
  { hints: ['npm_'], re: /(?<!\w)npm_[A-Za-z0-9]{30,}/g },
  { hints: ['pypi-'], re: /(?<![\w-])pypi-[\w-]{50,}/g },
  { hints: ['hf_'], re: /(?<!\w)hf_[A-Za-z0-9]{30,}/g },
  { hints: ['xox', 'xapp-'], re: /(?<![\w-])(?:xox[abposre]|xapp)-[A-Za-z0-9-]{10,}/g },
  { hints: ['_live_', '_test_'], re: /(?<!\w)(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{10,}/g },
  { hints: ['whsec_'], re: /(?<!\w)whsec_[A-Za-z0-9+/=]{10,}/g },
  { hints: ['hvs.', 'hvb.', 'hvr.'], re: /(?<![\w.-])hv[sbr]\.[\w-]{20,}/g },
  { hints: ['_v1_'], re: /(?<!\w)do[opr]_v1_[a-f0-9]{40,}/g },
  { hints: ['shp'], re: /(?<!\w)shp(?:at|ca|pa|ss)_[a-fA-F0-9]{20,}/g },
  { hints: ['SG.'], re: /(?<![\w.-])SG\.[\w-]{16,}\.[\w-]{16,}/g },
  { hints: ['AGE-SECRET-KEY-1'], re: /(?<![\w-])AGE-SECRET-KEY-1[A-Z0-9]{20,}/g },
  { hints: ['glsa_'], re: /(?<!\w)glsa_[A-Za-z0-9]{20,}_[a-f0-9]{8}/g },
  // OpenAI, Anthropic and similar `sk-` keys: mixed case, which Kubernetes names never are
  { hints: ['sk-'], re: /(?<![\w-])sk-(?=[\w-]*[A-Z])(?=[\w-]*[a-z0-9])[\w-]{20,}/g },
  // Google API keys, OAuth access tokens and client secrets
  { hints: ['AIza'], re: /(?<![\w-])AIza[\w-]{30,}/g },
  { hints: ['ya29.'], re: /(?<![\w.-])ya29\.[\w.-]{20,}/g },
  { hints: ['GOCSPX-'], re: /(?<![\w-])GOCSPX-[\w-]{20,}/g },
  // Authorization schemes written out: "Bearer <token>", "Basic <base64>"
  {
    hints: ['bearer', 'basic'],
    anyCase: true,
    group: true,
    re: /(?<![\w-])(?:bearer|basic)[ \t]{1,8}([A-Za-z0-9._~+/=-]{8,})/dgi,
  },
  // scheme://user:password@host (the user may be empty; the password may hold an unencoded @)
  {
    hints: ['://'],
    group: true,
    re: /(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]{0,30}:\/\/[^\s:/@]{0,256}:([^\s/]{1,256})@/dg,
  },
  // webhook URLs whose path is the credential
  {
    hints: ['hooks.slack.com/'],
    group: true,
    re: /hooks\.slack\.com\/(?:services|workflows|triggers)\/([\w/-]{8,})/dg,
  },
  {
    hints: ['/api/webhooks/'],
    group: true,
    re: /discord(?:app)?\.com\/api\/webhooks\/\d{1,30}\/([\w-]{20,})/dg,
  },
];

export function findShapes(text: string, spans: Spans): void {
  let lower: string | undefined;
  for (const shape of SHAPES) {
    if (shape.anyCase && lower === undefined) lower = text.toLowerCase();
    const haystack = shape.anyCase && lower !== undefined ? lower : text;
    if (!shape.hints.some((h) => haystack.includes(h))) continue;
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
