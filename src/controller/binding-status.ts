// The status the controller writes on a LogDestinationPolicyBinding: Ready=True
// while it enforces the binding, or Ready=False and Stalled=True with the
// reason it refused the spec (such a binding selects nothing and permits
// nothing). Undefined when the status already says so.
import type { BindingStatus, LogDestinationPolicyBinding } from "../api/binding.ts";
import type { Condition } from "../api/v1alpha1.ts";
import type { CompiledBinding } from "../tenancy/index.ts";
import { rfc3339 } from "../util/time.ts";
import { READY, STALLED } from "./conditions.ts";

const BINDING_ACCEPTED = "Accepted";
const ACCEPTED_MESSAGE =
  "Enforced: objects in the namespaces this binding selects may manage what it lists";

export function bindingStatus(
  obj: LogDestinationPolicyBinding,
  compiled: CompiledBinding,
  now: Date,
): BindingStatus | undefined {
  const generation = obj.metadata.generation ?? 0;
  const previous = obj.status?.conditions ?? [];
  const base =
    compiled.problem === undefined
      ? { status: "True" as const, reason: BINDING_ACCEPTED, message: ACCEPTED_MESSAGE }
      : { status: "False" as const, reason: "InvalidSpec", message: compiled.problem };
  const condition = (type: string): Condition => {
    const old = previous.find((c) => c.type === type);
    return {
      type,
      ...base,
      ...(type === STALLED ? { status: "True" as const } : {}),
      observedGeneration: generation,
      lastTransitionTime:
        old?.status === (type === STALLED ? "True" : base.status)
          ? old.lastTransitionTime
          : rfc3339(now),
    };
  };
  const conditions = [
    condition(READY),
    ...(compiled.problem === undefined ? [] : [condition(STALLED)]),
  ];
  const same =
    obj.status?.observedGeneration === generation &&
    previous.length === conditions.length &&
    conditions.every((c) => {
      const old = previous.find((p) => p.type === c.type);
      return (
        old?.status === c.status &&
        old.reason === c.reason &&
        old.message === c.message &&
        old.observedGeneration === c.observedGeneration
      );
    });
  return same ? undefined : { observedGeneration: generation, conditions };
}
