import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { buildMcpServer } from '../../mcp/server.js';
import { GuardOnlyPolicy } from '../../policies/guard.js';
import { lineChartSvg, PALETTE, renderLineChart } from '../../tools/charts/line-chart.js';
import { textPath } from '../../tools/charts/stroke-font.js';
import { defineTool } from '../../tools/core/types.js';
import { testPipeline } from '../support/pipeline.js';
import { countColour, decodePng, PNG_SIGNATURE } from '../support/png.js';

const T0 = 1_714_564_800;
const wave = (k: number, n = 240): Array<[number, number]> =>
  Array.from({ length: n }, (_, i) => [T0 + i * 15, 10 * (k + 1) + 4 * Math.sin(i / 15 + k)]);

describe('line chart', () => {
  it('renders a PNG of the given size with every series drawn in its colour', async () => {
    const series = [0, 1, 2].map((k) => ({ label: `{pod="api-${k}"}`, points: wave(k) }));
    const image = await renderLineChart({
      title: 'sum by (pod) (rate(x[5m]))',
      series,
      step: 15,
      yLabel: 'req/s',
    });
    const png = Buffer.from(image.data, 'base64');
    expect(png.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
    expect(png.toString('ascii', 12, 16)).toBe('IHDR');
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([image.width, image.height]);
    const decoded = decodePng(png);
    expect(decoded.width).toBe(960);
    const plot = { x: 80, y: 40, width: 850, height: 300 };
    for (const colour of PALETTE.slice(0, 3)) expect(countColour(decoded, colour, plot)).toBeGreaterThan(200);
    // a colour not used for any series is nowhere in the plot
    expect(countColour(decoded, PALETTE[5]!, plot, 10)).toBe(0);
  });

  it('draws its labels as paths, so they appear with no font on the machine', async () => {
    const { svg } = lineChartSvg({ title: 'ABC', series: [{ label: 'a', points: wave(0) }] });
    expect(svg).not.toContain('<text');
    const image = decodePng(
      Buffer.from(
        (await renderLineChart({ title: 'TITLE 0123', series: [{ label: 'x', points: wave(0) }] })).data,
        'base64',
      ),
    );
    const title = { x: 0, y: 0, width: 300, height: 30 };
    expect(countColour(image, '#222222', title, 120)).toBeGreaterThan(20);
    const blank = decodePng(
      Buffer.from(
        (await renderLineChart({ title: '', series: [{ label: 'x', points: wave(0) }] })).data,
        'base64',
      ),
    );
    expect(countColour(blank, '#222222', title, 120)).toBe(0);
  });

  it('every printable ASCII character has a glyph or a visible fallback', () => {
    for (let c = 33; c < 127; c++)
      expect(textPath(String.fromCharCode(c), 0, 10, { size: 10 })).toMatch(/^M/);
    expect(textPath(' ', 0, 10, { size: 10 })).toBe('');
  });

  it('copes with a single point and with gaps (NaN)', async () => {
    const points: Array<[number, number]> = [
      [T0, 1],
      [T0 + 15, Number.NaN],
      [T0 + 30, 3],
    ];
    const img = decodePng(
      Buffer.from(
        (
          await renderLineChart({
            title: 't',
            series: [
              { label: 'one', points: [[T0, 5]] },
              { label: 'gap', points },
            ],
          })
        ).data,
        'base64',
      ),
    );
    expect(countColour(img, PALETTE[0]!, { x: 60, y: 40, width: 900, height: 300 })).toBeGreaterThan(5);
  });
});

describe('images through the pipeline and MCP', () => {
  const chartTool = defineTool({
    name: 'chart_get',
    title: 'Chart: Get',
    description:
      'A test tool that answers with a chart image, to check that images reach MCP clients intact.',
    input: z.object({}),
    annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    permission: { toolset: 'test', verb: 'read', namespaced: false },
    async handler() {
      const image = await renderLineChart({
        title: 'token=abcdefghijklmnop',
        series: [{ label: 'a', points: wave(0) }],
      });
      return { kind: 'doc', text: 'one chart', images: [{ data: image.data, mimeType: image.mimeType }] };
    },
  });

  it('arrives as MCP image content, untouched by redaction, and the audit notes it without storing it', async () => {
    const open = { readOnly: false, disableDestructive: false, allowTools: [], denyTools: [] };
    const { pipeline, audit } = testPipeline({
      tools: [chartTool],
      policy: new GuardOnlyPolicy(open),
      maxTokens: 300,
    });
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    const server = buildMcpServer(pipeline, { id: 'alice', groups: [], source: 'mcp-stdio' });
    await server.connect(serverSide);
    const client = new Client({ name: 'test', version: '1' });
    await client.connect(clientSide);
    const result = (await client.callTool({ name: 'chart_get', arguments: {} })) as CallToolResult;
    await client.close();
    expect(result.isError).toBeFalsy();
    expect(result.content.map((c) => c.type)).toEqual(['text', 'image']);
    const image = result.content[1] as { type: 'image'; data: string; mimeType: string };
    expect(image.mimeType).toBe('image/png');
    const png = Buffer.from(image.data, 'base64');
    expect(png.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
    expect(decodePng(png).width).toBe(960);
    const record = audit.records.find((r) => r.kind === 'result')!;
    expect(record.images).toBe(1);
    expect(JSON.stringify(audit.records)).not.toContain(image.data.slice(0, 64));
  });
});
