// Texts built to hit each redaction pattern's worst case, shared by the redactor's property tests
// and its benchmark (`npm run bench -- redact`).

export const MB = 1 << 20;

/** The text `unit` repeated to exactly `size` characters. */
export const fill = (unit: string, size: number): string =>
  unit.repeat(Math.ceil(size / unit.length)).slice(0, size);

/**
 * Texts built to hit each pattern's worst case: long runs its quantifiers could rescan, many
 * starts of a construct that is never finished, dense keys and separators.
 */
export const ADVERSARIAL: Record<string, string> = {
  'word characters': 'a',
  'identifier with dots and dashes': 'abcdefghij_klmnop.qrs-tuv',
  'password= prefixes': 'password=',
  'password: prefixes': 'password: ',
  'unterminated quoted values': 'password="',
  'escaped JSON keys': '\\"password\\":\\"',
  'BEGIN headers without END': '-----BEGIN RSA PRIVATE KEY-----\n',
  'URL-ish a:a:a': 'a:',
  'URL-ish a://:': 'a://:',
  'user:password@ runs': 'a:a@',
  'JWT starts': 'eyJ-',
  'JWT segments': 'eyJaaaaa.',
  'sk- starts': 'sk-a',
  'bearer words': 'bearer ',
  braces: '{}',
  'name/value pairs': 'name: DB_PASSWORD\nvalue: x\n',
  'JSON name/value pairs': '{"name":"DB_PASSWORD","value":"x"},',
  'secret flags': '--password ',
  'JSON flag arrays': '"--db-password",',
  'mysql short flags': 'mysql -p -u ',
  'curl -u user:': '-u a:',
  'header keys': 'Authorization: ',
  'block scalars': 'password: |\n',
  'diff arrows': 'password: a → ',
  'YAML list dashes': '\n                - ',
  'ordinary log lines': '2024-01-01T00:00:00Z INFO GET /api/v1/pods 200 12ms user=bob\n',
};
