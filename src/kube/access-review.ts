// TokenReview and SubjectAccessReview through the API server, for the secured
// /metrics endpoint (src/metrics/access.ts decides with the answers).
import { AuthenticationV1Api, AuthorizationV1Api, type KubeConfig } from "@kubernetes/client-node";
import { withSignal } from "./signal.ts";

export interface ReviewedUser {
  username: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
}

export class KubeAccessReviewer {
  readonly #authn: AuthenticationV1Api;
  readonly #authz: AuthorizationV1Api;

  constructor(kc: KubeConfig) {
    this.#authn = kc.makeApiClient(AuthenticationV1Api);
    this.#authz = kc.makeApiClient(AuthorizationV1Api);
  }

  async authenticate(token: string, signal: AbortSignal): Promise<ReviewedUser | undefined> {
    const review = await this.#authn.createTokenReview(
      { body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenReview", spec: { token } } },
      withSignal(signal),
    );
    const user = review.status?.user;
    if (review.status?.authenticated !== true || !user?.username) return undefined;
    return {
      username: user.username,
      ...(user.uid === undefined ? {} : { uid: user.uid }),
      ...(user.groups === undefined ? {} : { groups: user.groups }),
      ...(user.extra === undefined ? {} : { extra: user.extra }),
    };
  }

  async authorize(
    user: ReviewedUser,
    request: { path: string; verb: string },
    signal: AbortSignal,
  ): Promise<boolean> {
    const review = await this.#authz.createSubjectAccessReview(
      {
        body: {
          apiVersion: "authorization.k8s.io/v1",
          kind: "SubjectAccessReview",
          spec: {
            user: user.username,
            uid: user.uid,
            groups: user.groups,
            extra: user.extra,
            nonResourceAttributes: { path: request.path, verb: request.verb },
          },
        },
      },
      withSignal(signal),
    );
    return review.status?.allowed === true && review.status.denied !== true;
  }
}
