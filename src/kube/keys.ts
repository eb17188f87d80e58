// Queue keys are "namespace/name", as in client-go's cache.MetaNamespaceKeyFunc.
export interface ObjectRef {
  namespace: string;
  name: string;
}

export const keyOf = (ref: { namespace?: string | undefined; name?: string | undefined }): string =>
  `${ref.namespace ?? ""}/${ref.name ?? ""}`;

export function refOf(key: string): ObjectRef {
  const slash = key.indexOf("/");
  return { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}
