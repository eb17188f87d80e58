/** The most PutDestinationPolicy accepts for an access policy, in UTF-8 bytes. */
export const MAX_POLICY_BYTES = 5120;
