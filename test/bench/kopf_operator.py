# What a user might write instead of the controller: a minimal kopf + boto3
# operator for LogDestinationPolicy, run by the benchmark with kopf's default
# settings. One PutDestinationPolicy and one status patch per object; kopf adds
# its own bookkeeping (an annotation, and events at its default level). It
# re-applies every object when it starts (on.resume), as such operators do to
# catch up on what changed while they were down.
import datetime
import json

import boto3
import kopf

logs = boto3.client("logs")
RESOURCE = ("logs.gitops.dev", "v1alpha1", "logdestinationpolicies")


def policy_text(spec):
    if "accessPolicyJson" in spec:
        return spec["accessPolicyJson"]
    return json.dumps(spec["accessPolicy"], separators=(",", ":"), sort_keys=True)


@kopf.on.resume(*RESOURCE)
@kopf.on.create(*RESOURCE)
@kopf.on.update(*RESOURCE, field="spec")
def apply(spec, meta, patch, **_):
    logs.put_destination_policy(
        destinationName=spec["destinationName"],
        accessPolicy=policy_text(spec),
        forceUpdate=bool(spec.get("forceUpdate", False)),
    )
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    generation = meta["generation"]
    patch.status["observedGeneration"] = generation
    patch.status["conditions"] = [
        {
            "type": "Ready",
            "status": "True",
            "reason": "Applied",
            "message": f"Policy applied to destination {spec['destinationName']}",
            "observedGeneration": generation,
            "lastTransitionTime": now,
        }
    ]
