// Names that other tools (kubectl, Argo CD health checks, dashboards) match on.
// They are part of the API: change them only with a new API version.
export const GROUP = "logs.gitops.dev";
export const VERSION = "v1alpha1";
export const API_VERSION = `${GROUP}/${VERSION}`;
export const KIND = "LogDestinationPolicy";
export const PLURAL = "logdestinationpolicies";
export const SINGULAR = "logdestinationpolicy";
export const SHORT_NAMES = ["ldp"];
/** `kubectl get aws` lists these objects with the other AWS resources of ACK and Crossplane. */
export const CATEGORIES = ["aws"];
export const CRD_NAME = `${PLURAL}.${GROUP}`;

export const LAST_APPLIED_ANNOTATION = `${GROUP}/last-applied-policy`;
export const CONTROLLER_NAME = "logdestinationpolicy";

/** Held while spec.deletionPolicy is Revoke, so the policy is revoked before the object goes. */
export const REVOKE_FINALIZER = `${GROUP}/revoke-policy`;

/** The cluster-scoped kind that says which namespaces may manage which destinations. */
export const BINDING_KIND = "LogDestinationPolicyBinding";
export const BINDING_PLURAL = "logdestinationpolicybindings";
export const BINDING_SINGULAR = "logdestinationpolicybinding";
export const BINDING_SHORT_NAMES = ["ldpb"];
export const BINDING_CRD_NAME = `${BINDING_PLURAL}.${GROUP}`;

/** The namespaced kind by which a team adds its sender accounts to a policy that accepts grants. */
export const GRANT_KIND = "LogDestinationGrant";
export const GRANT_PLURAL = "logdestinationgrants";
export const GRANT_SINGULAR = "logdestinationgrant";
export const GRANT_SHORT_NAMES = ["ldg"];
export const GRANT_CRD_NAME = `${GRANT_PLURAL}.${GROUP}`;
/** Held by every grant, so its principals leave the policy before the grant goes. */
export const GRANT_FINALIZER = `${GROUP}/remove-grant`;
