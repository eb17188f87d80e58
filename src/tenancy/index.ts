// The pure tenancy core: which namespaces may manage which destinations. No I/O here.
export { compileGlob, type Glob } from "../util/glob.ts";
export { compileSelector, type Labels, type SelectorMatcher } from "./selector.ts";
export {
  compileBinding,
  decide,
  refusalOf,
  selecting,
  type CompiledBinding,
  type Permission,
  type PermissionRequest,
  type Refusal,
  type RoleMatcherFactory,
} from "./permission.ts";
export { permissionRequest } from "./request.ts";
export { grantPermissionRequest, ownerAccepts, type GrantTarget } from "./grant-request.ts";
