-- Argo CD health check for serving.ptoperator.io/DatabricksWorkspace (pt-operator).
-- The Ready condition says whether the operator could authenticate to the workspace with the
-- configured credentials; the reasons are listed in docs/argocd.md.
-- Argo CD runs scripts from argocd-cm in a sandbox with only the base, table, package and a safe os
-- library: no string library, so this script only uses `..`, `==`, `#` and ipairs.

-- Failures that need a person: a Secret to create or fix, or a spec to correct.
local TERMINAL_READY_REASONS = {
  SecretNotFound = true,
  AuthenticationFailed = true,
  InvalidSpec = true,
  FederationHostNotTrusted = true,
}

local function find_condition(conditions, condition_type)
  if conditions == nil then
    return nil
  end
  for _, condition in ipairs(conditions) do
    if condition.type == condition_type then
      return condition
    end
  end
  return nil
end

-- "Reason: message", so the Argo CD UI says both what happened and what to do.
local function describe(condition)
  local reason = condition.reason or condition.type
  if condition.message == nil or condition.message == "" then
    return reason
  end
  return reason .. ": " .. condition.message
end

local function result(status, message)
  return { status = status, message = message }
end

local generation = obj.metadata.generation
local status = obj.status
-- Not looked at yet: no status, or the one the API server serves until the operator writes one (observedGeneration 0).
if status == nil or (status.conditions == nil and (status.observedGeneration == nil or status.observedGeneration == 0)) then
  return result("Progressing", "Waiting for pt-operator to check the workspace credentials")
end

-- A Ready condition of an older spec says nothing about the host or Secret Argo CD just synced.
if generation ~= nil and status.observedGeneration ~= generation then
  local seen = "no generation checked yet"
  if status.observedGeneration ~= nil then
    seen = "status is for generation " .. status.observedGeneration
  end
  return result("Progressing", "Waiting for pt-operator to check generation " .. generation .. " (" .. seen .. ")")
end

local ready = find_condition(status.conditions, "Ready")
if ready == nil then
  return result("Progressing", "Waiting for pt-operator to check the workspace credentials")
end
if ready.observedGeneration ~= nil and generation ~= nil and ready.observedGeneration ~= generation then
  return result("Progressing", "Waiting for the Ready condition of generation " .. generation)
end
if ready.status == "True" then
  return result("Healthy", ready.message or "Authenticated")
end
if TERMINAL_READY_REASONS[ready.reason] then
  return result("Degraded", describe(ready))
end
-- HostUnreachable and anything new: the operator keeps checking on its own.
return result("Progressing", describe(ready))
