// The API server as the controller writes to it, and the event recorder.
import type { LogDestinationPolicyStatus } from "../../../src/api/v1alpha1.ts";
import type { EventSink, EventTarget, EventType } from "../../../src/kube/events.ts";
import { keyOf, type ObjectRef } from "../../../src/kube/keys.ts";
import type { PolicyWriter } from "../../../src/kube/resources.ts";

export class FakeWriter implements PolicyWriter {
  readonly calls: string[];
  readonly statuses: { key: string; patch: Partial<LogDestinationPolicyStatus> }[] = [];
  readonly annotations: Record<string, string | null>[] = [];
  readonly finalizers: string[][] = [];
  /** The error every status write fails with, while set. */
  failStatus: Error | undefined;

  constructor(calls: string[] = []) {
    this.calls = calls;
  }

  patchAnnotations(ref: ObjectRef, annotations: Record<string, string | null>): Promise<void> {
    this.calls.push(`kube.annotations ${keyOf(ref)}`);
    this.annotations.push(annotations);
    return Promise.resolve();
  }

  patchFinalizers(ref: ObjectRef, finalizers: string[]): Promise<void> {
    this.calls.push(`kube.finalizers ${keyOf(ref)}`);
    this.finalizers.push(finalizers);
    return Promise.resolve();
  }

  patchStatus(ref: ObjectRef, patch: Partial<LogDestinationPolicyStatus>): Promise<void> {
    this.calls.push(`kube.status ${keyOf(ref)}`);
    if (this.failStatus) return Promise.reject(this.failStatus);
    this.statuses.push({ key: keyOf(ref), patch });
    return Promise.resolve();
  }
}

export interface RecordedEvent {
  key: string;
  type: EventType;
  reason: string;
  action: string;
  note: string;
}

export class FakeEvents implements EventSink {
  readonly emitted: RecordedEvent[] = [];

  emit(target: EventTarget, type: EventType, reason: string, action: string, note: string): void {
    this.emitted.push({ key: `${target.namespace}/${target.name}`, type, reason, action, note });
  }
}
