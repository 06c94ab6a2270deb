// Wiring for inspections: the report store, the users' checks and the model that writes summaries.
import { prompt } from '../agent/prompts.js';
import { createLlmProvider } from '../agent/providers/index.js';
import type { InspectionBackend } from '../tools/clients/inspection-reports.js';
import type { InspectionStore } from '../tools/inspection/store.js';
import type { Config } from './config.js';

export function inspectionBackend(config: Config, store: InspectionStore): InspectionBackend {
  const llm = config.inspections.summary === 'agent' ? createLlmProvider(config.llm) : null;
  return {
    reports: store,
    ...(config.inspections.checksDir ? { checksDir: config.inspections.checksDir } : {}),
    ...(llm
      ? {
          summarise: async (facts: string, signal: AbortSignal) => {
            const answer = await llm.chat({
              messages: [{ role: 'user', content: prompt('inspection-summary', { facts }) }],
              tools: [],
              signal,
            });
            return { text: answer.content, model: config.llm.model };
          },
        }
      : {}),
  };
}
