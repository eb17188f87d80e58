-- Argo CD health check for logs.gitops.dev/LogDestinationPolicy and
-- logs.gitops.dev/LogDestinationGrant, whose conditions have the same shape.
-- It reads the same conditions kstatus does: Stalled is Degraded, Reconciling
-- and a generation the controller has not seen yet are Progressing, Ready is
-- Healthy, and the Suspended reason is Suspended. Argo CD opens only Lua's base
-- and table libraries, so this uses nothing else.
local hs = { status = "Progressing", message = "Waiting for the controller to reconcile this object" }
if obj.status == nil or obj.status.conditions == nil then
  return hs
end

local generation = obj.metadata.generation
local observed = obj.status.observedGeneration
if generation ~= nil and observed ~= generation then
  hs.message = "Waiting for the controller to observe generation " .. tostring(generation)
  return hs
end

local ready, stalled, reconciling
for _, condition in ipairs(obj.status.conditions) do
  if condition.type == "Ready" then
    ready = condition
  elseif condition.type == "Stalled" and condition.status == "True" then
    stalled = condition
  elseif condition.type == "Reconciling" and condition.status == "True" then
    reconciling = condition
  end
end
if ready == nil then
  return hs
end

local message = ready.reason or ""
if ready.message ~= nil and ready.message ~= "" then
  message = message .. ": " .. ready.message
end
hs.message = message
if ready.reason == "Suspended" then
  hs.status = "Suspended"
elseif stalled ~= nil then
  hs.status = "Degraded"
elseif reconciling ~= nil then
  hs.status = "Progressing"
elseif ready.status == "True" then
  hs.status = "Healthy"
end
return hs
