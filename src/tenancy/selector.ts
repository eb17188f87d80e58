// Kubernetes LabelSelector semantics (apimachinery's LabelSelectorAsSelector):
// every matchLabels pair and every matchExpressions requirement must hold; an
// empty selector selects everything. `NotIn` and `DoesNotExist` hold for a
// namespace that lacks the label.
import type { LabelSelector } from "../api/binding.ts";

export type Labels = Readonly<Record<string, string>>;

export type SelectorMatcher = (labels: Labels) => boolean;

export function compileSelector(selector: LabelSelector): SelectorMatcher {
  const pairs = Object.entries(selector.matchLabels ?? {});
  const requirements = (selector.matchExpressions ?? []).map((r) => ({
    key: r.key,
    operator: r.operator,
    values: new Set(r.values ?? []),
  }));
  return (labels) => {
    for (const [key, value] of pairs) if (labels[key] !== value) return false;
    for (const { key, operator, values } of requirements) {
      const has = Object.hasOwn(labels, key);
      const value = labels[key];
      switch (operator) {
        case "In":
          if (!has || value === undefined || !values.has(value)) return false;
          break;
        case "NotIn":
          if (has && value !== undefined && values.has(value)) return false;
          break;
        case "Exists":
          if (!has) return false;
          break;
        case "DoesNotExist":
          if (has) return false;
          break;
      }
    }
    return true;
  };
}
