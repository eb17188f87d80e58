/** A Kubernetes object name (DNS-1123 subdomain): lower-case letters, digits, '-' and '.'. */
export const OBJECT_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
export const OBJECT_NAME_MAX_LENGTH = 253;
