// A canary_progress plan as a test writes it into the plan store: three steps, due at `nextAt`.
import type { CanaryPlan } from '../../tools/clients/canary-plans.js';

export const canaryPlanDraft = (name: string, nextAt: number): Omit<CanaryPlan, 'id' | 'createdAt'> => ({
  namespace: 'payments',
  name,
  stable: `${name}-stable`,
  canary: `${name}-canary`,
  steps: [10, 50, 100],
  intervalSeconds: 60,
  analysis: { window: '5m' },
  requester: { id: 'slack:UALICE', groups: ['sre'], source: 'chat' },
  state: 'running',
  step: 0,
  inconclusive: 0,
  nextAt,
  history: [],
});
