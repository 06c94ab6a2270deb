// Kubernetes quantities as the API writes them, in base units, and back for people.
import { describe, expect, it } from 'vitest';
import { formatBytes, formatCpu, parseQuantity } from '../../tools/shared/quantity.js';

describe('quantities', () => {
  it('parses every suffix the API uses, decimal and binary, and exponents', () => {
    expect(parseQuantity('250m')).toBeCloseTo(0.25);
    expect(parseQuantity('1.5')).toBe(1.5);
    expect(parseQuantity('128Mi')).toBe(128 * 2 ** 20);
    expect(parseQuantity('2Gi')).toBe(2 * 2 ** 30);
    expect(parseQuantity('1k')).toBe(1000);
    expect(parseQuantity('1e3')).toBe(1000);
    expect(parseQuantity('500n')).toBeCloseTo(5e-7);
    expect(parseQuantity(4)).toBe(4);
  });

  it('reads nothing it does not understand as zero', () => {
    expect(parseQuantity(undefined)).toBe(0);
    expect(parseQuantity('lots')).toBe(0);
    expect(parseQuantity('5Xi')).toBe(0);
  });

  it('writes cores and bytes as kubectl would', () => {
    expect(formatCpu(0)).toBe('0');
    expect(formatCpu(0.25)).toBe('250m');
    expect(formatCpu(4)).toBe('4');
    expect(formatCpu(12.34)).toBe('12.3');
    expect(formatBytes(128 * 2 ** 20)).toBe('128Mi');
    expect(formatBytes(1536 * 2 ** 20)).toBe('1.5Gi');
    expect(formatBytes(512)).toBe('512');
  });
});
