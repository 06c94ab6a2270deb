/**
 * Which names mark a value as a credential. Two tests, because the cost of a mistake differs:
 * a key in free text (`token_count: 5`, `secretName: db-creds`) must END with a secret word to
 * count, while the name of an env variable, a data key or a header (`DB_PASSWORD`, `api-key`,
 * `Authorization`) always labels a configuration value, so any secret word in it counts.
 * Both are called on short strings only (callers pass at most a key's last 64 characters).
 */

export const MASK = '[REDACTED]';

/** Words that make a key secret only as a word of their own: `DB_PASS`, not `bypass`. */
const SHORT_WORDS = 'pass|pin|creds?|dsn|sig';
const LONG_WORDS =
  'pass(?:word|wd|phrase)|pwd|secret|token|(?:api|access|secret|private|account|master|signing|encryption|shared|ssh|license|client|app|service|storage|subscription|consumer|webhook)[_.-]?key|apikey|client[_.-]?key[_.-]?data|credentials?|auth|authorization|cookie|sess(?:ion)?[_.-]?id|signature|conn(?:ection)?[_.-]?str(?:ing)?';

/** The words a secret key ends with, as a regex source (case-insensitive), without the word-boundary check. */
export const SECRET_KEY_WORDS = `${SHORT_WORDS}|${LONG_WORDS}`;

const KEY_END = new RegExp(`(?:(?<![a-z])(?:${SHORT_WORDS})|${LONG_WORDS})$`, 'i');

/** A key in free text whose value is a secret: `password`, `DB_PASSWORD`, `dbPassword`, `x-api-key`… */
export function isSecretKey(key: string): boolean {
  return KEY_END.test(key.length > 64 ? key.slice(-64) : key);
}

const CREDENTIAL_NAME =
  /pass(?:word|wd|phrase)|(?:^|[^a-z])(?:pass|pwd|pin|auth|creds?|dsn)(?:$|[^a-z])|secret|token|(?:^|[^a-z])key(?:$|[^a-z])|(?:api|private|access|signing|encryption)[-_.]?key|apikey|credential|authorization|conn(?:ection)?[-_.]?str(?:ing)?|cookie|session|bearer|signature/i;

/** A name that labels a credential: DB_PASSWORD, api-token, aws_secret_access_key, tls.key, Authorization… */
export function isCredentialName(name: string): boolean {
  return CREDENTIAL_NAME.test(name.length > 128 ? name.slice(-128) : name);
}

/** A command-line flag that takes a secret: `--db-password`, `-token`, `--client-secret`. */
export function isSecretFlag(arg: string): boolean {
  return /^--?[A-Za-z]/.test(arg) && !arg.includes('=') && isSecretKey(arg);
}
