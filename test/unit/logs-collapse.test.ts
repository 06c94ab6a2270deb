import { describe, expect, it } from 'vitest';
import { collapseLog, normaliseLine, renderCollapsed, severity } from '../../tools/shared/log-text.js';

// A Spring Boot service that loses its database and dies, as `kubectl logs` shows it.
const javaLog = `2024-05-01 12:00:00.101  INFO 1 --- [           main] c.e.payments.PaymentsApplication         : Starting PaymentsApplication v2.3.1 using Java 17.0.9 with PID 1
2024-05-01 12:00:03.412  INFO 1 --- [           main] o.s.b.w.embedded.tomcat.TomcatWebServer  : Tomcat started on port(s): 8080 (http) with context path ''
2024-05-01 12:00:05.003  INFO 1 --- [nio-8080-exec-1] c.e.payments.web.HealthController        : GET /actuator/health 200 in 3ms
2024-05-01 12:00:10.004  INFO 1 --- [nio-8080-exec-2] c.e.payments.web.HealthController        : GET /actuator/health 200 in 2ms
2024-05-01 12:00:15.007  INFO 1 --- [nio-8080-exec-3] c.e.payments.web.HealthController        : GET /actuator/health 200 in 4ms
2024-05-01 12:00:17.220  INFO 1 --- [nio-8080-exec-4] c.e.payments.api.TransferController      : transfer 7f3c9a2e-1b4d-4c8e-9f00-2a6b8c1d3e45 accepted amount=120.50 EUR
2024-05-01 12:00:18.981  INFO 1 --- [nio-8080-exec-5] c.e.payments.api.TransferController      : transfer 0b8e41d7-55aa-4f7e-8c3b-9d2e6f104a77 accepted amount=87.00 EUR
2024-05-01 12:00:20.010  INFO 1 --- [nio-8080-exec-6] c.e.payments.web.HealthController        : GET /actuator/health 200 in 3ms
2024-05-01 12:00:21.337 ERROR 1 --- [nio-8080-exec-7] o.h.engine.jdbc.spi.SqlExceptionHelper   : Connection to payments-db.payments.svc:5432 refused. Check that the hostname and port are correct.
2024-05-01 12:00:21.339  WARN 1 --- [nio-8080-exec-7] o.h.engine.jdbc.spi.SqlExceptionHelper   : SQL Error: 0, SQLState: 08001
2024-05-01 12:00:22.512 ERROR 1 --- [nio-8080-exec-8] o.h.engine.jdbc.spi.SqlExceptionHelper   : Connection to payments-db.payments.svc:5432 refused. Check that the hostname and port are correct.
2024-05-01 12:00:22.514  WARN 1 --- [nio-8080-exec-8] o.h.engine.jdbc.spi.SqlExceptionHelper   : SQL Error: 0, SQLState: 08001
2024-05-01 12:00:23.900 ERROR 1 --- [nio-8080-exec-9] o.a.c.c.C.[.[.[/].[dispatcherServlet]    : Servlet.service() threw exception
org.postgresql.util.PSQLException: Connection to payments-db.payments.svc:5432 refused.
\tat org.postgresql.core.v3.ConnectionFactoryImpl.openConnectionImpl(ConnectionFactoryImpl.java:319)
\tat org.postgresql.core.ConnectionFactory.openConnection(ConnectionFactory.java:49)
Caused by: java.net.ConnectException: Connection refused
\t... 42 more
2024-05-01 12:00:25.004  INFO 1 --- [nio-8080-exec-1] c.e.payments.web.HealthController        : GET /actuator/health 503 in 1ms
2024-05-01 12:00:30.002  INFO 1 --- [nio-8080-exec-2] c.e.payments.web.HealthController        : GET /actuator/health 503 in 2ms
2024-05-01 12:00:31.118 ERROR 1 --- [           main] o.s.boot.SpringApplication               : Application run failed: java.lang.OutOfMemoryError: Java heap space
`;

// A Go controller logging with klog, and a JSON-logging sidecar.
const klogLog = `I0501 12:00:00.000001       1 leaderelection.go:250] attempting to acquire leader lease kube-system/payments-operator...
I0501 12:00:00.120331       1 leaderelection.go:260] successfully acquired lease kube-system/payments-operator
I0501 12:00:01.000412       1 controller.go:118] "Reconciling" ledger="payments/ledger-7" generation=14
I0501 12:00:02.000912       1 controller.go:118] "Reconciling" ledger="payments/ledger-8" generation=3
W0501 12:00:02.500000       1 reflector.go:539] pkg/mod/k8s.io/client-go/tools/cache/reflector.go:229: watch of *v1.Secret ended with: an error on the server ("unable to decode an event from the watch stream") has prevented the request from succeeding
E0501 12:00:03.004417       1 controller.go:329] "Reconciler error" err="Operation cannot be fulfilled on ledgers.payments.example.com \\"ledger-7\\": the object has been modified" ledger="payments/ledger-7" reconcileID="2c1f0e7a-5b9d-4c3e-8f21-6a7b9c0d1e2f"
E0501 12:00:04.118842       1 controller.go:329] "Reconciler error" err="Operation cannot be fulfilled on ledgers.payments.example.com \\"ledger-9\\": the object has been modified" ledger="payments/ledger-9" reconcileID="9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
{"level":"info","ts":"2024-05-01T12:00:05.112Z","msg":"request served","method":"GET","path":"/v1/ledgers","status":200,"duration_ms":12,"request_id":"a1b2c3d4e5f6"}
{"level":"info","ts":"2024-05-01T12:00:05.412Z","msg":"request served","method":"GET","path":"/v1/ledgers","status":200,"duration_ms":9,"request_id":"f6e5d4c3b2a1"}
{"level":"info","ts":"2024-05-01T12:00:05.913Z","msg":"retrying after error","attempt":2,"backoff":"200ms"}
{"level":"error","ts":"2024-05-01T12:00:06.001Z","msg":"upstream timeout","path":"/v1/ledgers","status":504,"duration_ms":30000,"request_id":"0a1b2c3d4e5f"}
`;

const nginxLog = `10.244.1.17 - - [01/May/2024:12:00:00 +0000] "GET /healthz HTTP/1.1" 200 2 "-" "kube-probe/1.29"
10.244.1.17 - - [01/May/2024:12:00:10 +0000] "GET /healthz HTTP/1.1" 200 2 "-" "kube-probe/1.29"
10.244.2.33 - - [01/May/2024:12:00:11 +0000] "GET /healthz HTTP/1.1" 204 0 "-" "kube-probe/1.29"
10.244.1.17 - - [01/May/2024:12:00:20 +0000] "GET /healthz HTTP/1.1" 502 157 "-" "kube-probe/1.29"
`;

describe('log line normalisation', () => {
  it('ignores timestamps, numbers, uuids, hex and generated ids', () => {
    expect(
      normaliseLine('2024-05-01T12:00:05.112Z took 12ms for req 7f3c9a2e-1b4d-4c8e-9f00-2a6b8c1d3e45'),
    ).toBe(normaliseLine('2024-05-02T01:02:03Z took 900ms for req 0b8e41d7-55aa-4f7e-8c3b-9d2e6f104a77'));
    expect(normaliseLine('pod payments/api-7d9f8c6b5-x2k4q restarted (trace 0xdeadbeef42)')).toBe(
      normaliseLine('pod payments/api-5c4b3a291-p9m7z restarted (trace 0x00ff00ff11)'),
    );
    expect(normaliseLine('cache miss for user alice')).not.toBe(normaliseLine('cache miss for user bob'));
  });

  it('keeps the class of an HTTP status apart: 200 and 204 collapse, 200 and 502 do not', () => {
    const [ok, ok2, noContent, bad] = nginxLog.trim().split('\n').map(normaliseLine);
    expect(ok).toBe(ok2);
    expect(ok).toBe(noContent);
    expect(ok).not.toBe(bad);
  });
});

describe('severity', () => {
  it('takes an explicit level over keywords', () => {
    expect(severity('{"level":"info","msg":"retrying after error"}')).toBe('other');
    expect(severity('{"level":"error","msg":"upstream timeout"}')).toBe('error');
    expect(severity('level=warn msg="slow query"')).toBe('warning');
    expect(severity('E0501 12:00:03.004417       1 controller.go:329] "Reconciler error"')).toBe('error');
    expect(severity('W0501 12:00:02.500000       1 reflector.go:539] watch ended')).toBe('warning');
    expect(severity('2024-05-01 12:00:21.337 ERROR 1 --- [exec-7] Helper : refused')).toBe('error');
    expect(
      severity('2024-05-01 12:00:05.003  INFO 1 --- [exec-1] HealthController : GET /actuator/health 200'),
    ).toBe('other');
  });

  it('falls back to keywords and HTTP 5xx when a line has no level', () => {
    expect(severity('panic: runtime error: invalid memory address or nil pointer dereference')).toBe('error');
    expect(severity('java.net.ConnectException: Connection refused')).toBe('error');
    expect(
      severity('\tat org.postgresql.core.ConnectionFactory.openConnection(ConnectionFactory.java:49)'),
    ).toBe('other');
    expect(severity('10.244.1.17 - - [01/May/2024:12:00:20 +0000] "GET /healthz HTTP/1.1" 502 157')).toBe(
      'error',
    );
    expect(severity('listening on :8080')).toBe('other');
  });
});

describe('collapsing a real-looking log', () => {
  it('collapses health checks and repeated errors into counted entries, keeping the latest text', () => {
    const log = collapseLog(javaLog);
    expect(log.lines).toBe(21);
    const health = log.entries.filter((e) => e.text.includes('/actuator/health 200'));
    expect(health).toHaveLength(1);
    expect(health[0]).toMatchObject({ count: 4, severity: 'other' });
    expect(health[0]!.text).toContain('12:00:20.010');
    expect(log.entries.filter((e) => e.text.includes('/actuator/health 503'))).toEqual([
      expect.objectContaining({ count: 2 }),
    ]);
    const refused = log.entries.find((e) => e.text.includes('refused. Check that'));
    expect(refused).toMatchObject({ count: 2, severity: 'error' });
    expect(log.entries.find((e) => e.text.includes('transfer'))).toMatchObject({ count: 2 });
    expect(log.entries.length).toBeLessThan(log.lines - 6);
    expect(log.errorLines).toBeGreaterThanOrEqual(6);
    expect(log.warningLines).toBe(2);
  });

  it('puts the distinct errors first, most recent first, then the log in order', () => {
    const r = renderCollapsed(collapseLog(javaLog));
    const lines = r.text.split('\n');
    expect(lines[0]).toMatch(/^Errors: \d+ lines, \d+ distinct/);
    expect(lines[1]).toContain('Application run failed: java.lang.OutOfMemoryError');
    expect(r.errors[0]!.text).toContain('OutOfMemoryError');
    const refused = r.errors.find((e) => e.text.includes('refused. Check that'));
    expect(refused?.count).toBe(2);
    const logStart = lines.findIndex((l) => l.startsWith('Log ('));
    expect(logStart).toBeGreaterThan(1);
    expect(lines[logStart + 1]).toContain('Starting PaymentsApplication');
    expect(lines.at(-1)).toContain('Application run failed');
    expect(r.text).toContain('[×4] 2024-05-01 12:00:20.010  INFO');
    // Stack frames stay in the log but are not error entries of their own.
    expect(r.text).toContain('\tat org.postgresql.core.ConnectionFactory.openConnection');
    expect(r.errors.some((e) => e.text.startsWith('\tat '))).toBe(false);
  });

  it('handles klog and JSON lines: ids and request ids collapse, levels decide severity', () => {
    const log = collapseLog(klogLog);
    expect(log.entries.find((e) => e.text.includes('"Reconciling"'))).toMatchObject({ count: 2 });
    expect(log.entries.find((e) => e.text.includes('"Reconciler error"'))).toMatchObject({
      count: 2,
      severity: 'error',
    });
    expect(log.entries.find((e) => e.text.includes('request served'))).toMatchObject({ count: 2 });
    expect(log.entries.find((e) => e.text.includes('retrying after error'))?.severity).toBe('other');
    const r = renderCollapsed(log);
    expect(r.errors.map((e) => e.text)).toEqual([
      expect.stringContaining('upstream timeout'),
      expect.stringContaining('ledger-9'),
    ]);
    expect(log.warningLines).toBe(1);
  });

  it('cuts the oldest entries first when over the budget, and says so', () => {
    const many = Array.from(
      { length: 300 },
      (_, i) =>
        `step ${'abcdefghij'[i % 10]}${i % 7 === 0 ? 'x' : 'y'}-${String.fromCharCode(97 + (i % 26))} done`,
    ).join('\n');
    const log = collapseLog(`${many}\nfinal line: shutting down\n`);
    const r = renderCollapsed(log, 400);
    expect(r.omitted).toBeGreaterThan(0);
    expect(r.text).toContain(`… ${r.omitted} earlier distinct lines not shown`);
    expect(r.text.split('\n').at(-1)).toBe('final line: shutting down');
    expect(r.shown.length + r.omitted).toBe(log.entries.length);
  });

  it('collapses a crash loop of thousands of identical-but-for-numbers lines to a few entries', () => {
    const lines: string[] = [];
    for (let i = 0; i < 5000; i++) {
      const ts = new Date(Date.UTC(2024, 4, 1, 12, 0, i)).toISOString();
      lines.push(`${ts} level=info msg="processed batch" batch=${i} size=${(i * 37) % 500} took=${i % 90}ms`);
      if (i % 1000 === 999)
        lines.push(
          `${ts} level=error msg="commit failed" offset=${i * 1000} err="kafka: broker 3 not available"`,
        );
    }
    const log = collapseLog(lines.join('\n'));
    expect(log.entries).toHaveLength(2);
    expect(log.entries[0]).toMatchObject({ count: 5000 });
    expect(log.entries[1]).toMatchObject({ count: 5, severity: 'error' });
    expect(log.errorLines).toBe(5);
    const r = renderCollapsed(log);
    expect(r.text.length).toBeLessThan(1000);
    expect(r.text).toContain('[×5000]');
  });
});
