import type { Principal } from '../../policies/types.js';

/** Which alerts to triage: a group (its `ag_…` id or Alertmanager's groupKey) or one alert (fingerprint). */
export type AlertRef = { group: string } | { fingerprint: string };

/** One triage, on demand, as the caller sees it. */
export interface AlertTriageResult {
  groupId: string;
  groupKey: string;
  alertname: string;
  status: 'firing' | 'resolved';
  /** The alerts triaged: the whole group, or the one alert named. */
  alerts: number;
  /** The facts read through the pipeline as the caller. */
  enrichment: string;
  /** The agent's diagnosis, when a model ran. */
  diagnosis?: string;
  /** Why there is no diagnosis (no model, over the budget, the model failed). */
  note?: string;
  runbooks: string[];
  /** Who acknowledged the group's current episode, when someone did. */
  acknowledgedBy?: string;
}

/** A stored group and its triage as the queue left it (triage as the triage principal). */
export interface StoredAlertGroup {
  groupId: string;
  groupKey: string;
  alertname: string;
  namespace?: string;
  status: 'firing' | 'resolved';
  severity: string;
  firing: number;
  resolved: number;
  /** ISO time of the last change. */
  updatedAt: string;
  acknowledgedBy?: string;
  triage: 'not triaged' | 'queued' | 'running' | 'done' | 'failed';
  enrichment?: string;
  diagnosis?: string;
  error?: string;
}

/** What the alerts toolset reaches: Kubemate's own alert store and its triage, present when alerts are enabled. */
export interface AlertTriageAccess {
  /** Undefined when no stored group or alert matches the reference. */
  triage(
    ref: AlertRef,
    principal: Principal,
    options: { model: boolean },
  ): Promise<AlertTriageResult | undefined>;
  /** The groups changed most recently, newest first, with their stored triage (MCP resources). */
  groups(limit: number): Promise<StoredAlertGroup[]>;
  group(id: string): Promise<StoredAlertGroup | undefined>;
  /** `changed(groupId?)`: a group was added (no id) or its triage or state changed. Returns the unsubscribe. */
  watch(changed: (groupId?: string) => void): () => void;
}
