// What can be checked of the Dockerfile without a container engine: its stages, the pinned base
// image, the non-root user, the read-only-root layout, and that the runtime stage holds exactly
// what the npm package holds (package.json "files"), so the image and the package cannot drift.
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

interface Instruction {
  op: string;
  args: string;
}

/** Instructions with continuation lines joined and comments dropped, grouped by stage. */
function parseDockerfile(text: string): {
  preamble: Instruction[];
  stages: Array<{ name: string; from: string; body: Instruction[] }>;
} {
  const lines = text.replace(/\\\n/g, ' ').split('\n');
  const preamble: Instruction[] = [];
  const stages: Array<{ name: string; from: string; body: Instruction[] }> = [];
  for (const raw of lines) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^(\S+)\s+(.*)$/.exec(line);
    if (!m) throw new Error(`cannot read Dockerfile line: ${line}`);
    const ins = { op: m[1]!.toUpperCase(), args: m[2]!.trim() };
    if (ins.op === 'FROM') {
      const f = /^(\S+)\s+AS\s+(\S+)$/i.exec(ins.args);
      if (!f) throw new Error(`every stage must be named: FROM ${ins.args}`);
      stages.push({ from: f[1]!, name: f[2]!, body: [] });
    } else if (stages.length === 0) preamble.push(ins);
    else stages.at(-1)!.body.push(ins);
  }
  return { preamble, stages };
}

const dockerfile = parseDockerfile(readFileSync('Dockerfile', 'utf8'));
const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as {
  files: string[];
  bin: Record<string, string>;
};
const build = dockerfile.stages.find((s) => s.name === 'build')!;
const runtime = dockerfile.stages.at(-1)!;
const ops = (stage: typeof runtime, op: string) => stage.body.filter((i) => i.op === op).map((i) => i.args);

/** COPY arguments as [sources, destination, from-stage]. */
function copies(stage: typeof runtime): Array<{ from?: string; sources: string[]; dest: string }> {
  return ops(stage, 'COPY').map((args) => {
    const parts = args.split(/\s+/);
    const from = parts[0]!.startsWith('--from=') ? parts.shift()!.slice('--from='.length) : undefined;
    const dest = parts.pop()!;
    return { ...(from ? { from } : {}), sources: parts, dest };
  });
}

describe('Dockerfile', () => {
  it('builds in a build stage and runs from a separate runtime stage on the same pinned base', () => {
    expect(dockerfile.stages.map((s) => s.name)).toEqual(['build', 'runtime']);
    const arg = dockerfile.preamble.find((i) => i.op === 'ARG' && i.args.startsWith('NODE_IMAGE='));
    expect(arg).toBeDefined();
    const image = arg!.args.slice('NODE_IMAGE='.length);
    // An exact Node version (major.minor.patch), never a floating tag.
    expect(image).toMatch(/^node:\d+\.\d+\.\d+-[a-z]+-slim(@sha256:[0-9a-f]{64})?$/);
    for (const s of dockerfile.stages) expect(s.from).toBe(`\${NODE_IMAGE}`);
    expect(readFileSync('Dockerfile', 'utf8')).not.toMatch(/:latest\b/);
  });

  it('installs from the lock file, compiles, and keeps only production dependencies', () => {
    const runs = ops(build, 'RUN').join('\n');
    expect(runs).toContain('npm ci');
    expect(runs).not.toMatch(/npm install\b/);
    expect(runs).toMatch(/npm run build && npm prune --omit=dev/);
    const runtimeRuns = ops(runtime, 'RUN').join('\n');
    expect(runtimeRuns).not.toMatch(/npm|apt-get/);
    // The build stage compiles every folder tsconfig.build.json includes.
    const include = (JSON.parse(readFileSync('tsconfig.build.json', 'utf8')) as { include: string[] })
      .include;
    const copiedToBuild = copies(build).flatMap((c) => c.sources);
    for (const dir of include) expect(copiedToBuild, dir).toContain(dir);
  });

  it('copies into the runtime stage exactly what the npm package carries', () => {
    const wanted = pkg.files.filter((f) => !f.startsWith('!'));
    const placed = new Map<string, string>(); // package path -> where it came from
    for (const c of copies(runtime)) {
      for (const src of c.sources) {
        const rel = c.from ? src.replace(/^\/src\//, '') : src;
        placed.set(c.sources.length > 1 ? rel : c.dest.replace(/^\.\//, '').replace(/\/$/, '') || rel, rel);
        if (c.sources.length > 1) expect(c.dest).toBe('./');
      }
    }
    for (const f of wanted) {
      const dest = f.endsWith('/*.md') ? f.slice(0, -'/*.md'.length) : f;
      expect([...placed.keys()], `package.json files entry '${f}' is not copied into the image`).toContain(
        dest,
      );
      // Each is copied to the same relative path it has in the package.
      expect(placed.get(dest)).toBe(f);
    }
    // Sources copied from the build context exist, and the bin entry is what the image runs.
    for (const c of copies(runtime).filter((c) => !c.from)) {
      for (const src of c.sources) expect(existsSync(src.replace(/\/\*\.md$/, '')), src).toBe(true);
    }
    expect(ops(runtime, 'ENTRYPOINT')).toEqual([`["node", "/app/${pkg.bin.kubemate}"]`]);
  });

  it('runs as a numeric non-root user with the data directory and /tmp on volumes', () => {
    const users = ops(runtime, 'USER');
    expect(users).toHaveLength(1);
    const [uid, gid] = users[0]!.split(':').map(Number);
    expect(uid).toBeGreaterThan(0);
    expect(gid).toBeGreaterThan(0);
    const env = ops(runtime, 'ENV').join(' ');
    expect(env).toMatch(/KUBEMATE_DATA_DIR=\/data\b/);
    expect(env).toMatch(/KUBEMATE_SERVER__HOST=0\.0\.0\.0\b/);
    expect(ops(runtime, 'VOLUME')).toEqual(['["/data", "/tmp"]']);
    expect(ops(runtime, 'RUN').join('\n')).toContain(`chown ${users[0]} /data`);
    const health = ops(runtime, 'HEALTHCHECK');
    expect(health).toHaveLength(1);
    expect(health[0]).toContain('/healthz');
  });

  it('keeps local build output and the test tree out of the build context', () => {
    const ignored = readFileSync('.dockerignore', 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    for (const p of ['node_modules', 'dist', '.git', 'test']) expect(ignored).toContain(p);
    // Nothing the Dockerfile copies from the context is ignored.
    const fromContext = [...copies(build), ...copies(runtime)]
      .filter((c) => !c.from)
      .flatMap((c) => c.sources);
    for (const src of fromContext) expect(ignored, src).not.toContain(src.split('/')[0]);
  });
});
