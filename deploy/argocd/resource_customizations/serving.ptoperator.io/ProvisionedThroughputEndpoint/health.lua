-- Argo CD health check for serving.ptoperator.io/ProvisionedThroughputEndpoint (pt-operator).
-- The status follows the Kubernetes condition conventions (Ready and Synced, observedGeneration on
-- the status and on every condition); the reasons are listed in docs/argocd.md.
-- Argo CD runs scripts from argocd-cm in a sandbox with only the base, table, package and a safe os
-- library: no string library, so this script only uses `..`, `==`, `#` and ipairs.

-- Failures that retrying cannot fix: only a spec change or a new ptoperator.io/requested-at does
-- (CanaryAborted: a spec change, or removing the canary abort control; WorkspaceStalled: a fix of the
-- DatabricksWorkspace's Secret, credentials or spec, after which the endpoint goes on by itself).
local TERMINAL_SYNCED_REASONS = {
  InvalidSpec = true,
  ModelNotOptimizable = true,
  ModelNotFound = true,
  NotOwned = true,
  PermissionDenied = true,
  QuotaExceeded = true,
  DefaultWorkspaceNotAllowed = true,
  UpdateFailed = true,
  CapacityRetriesExhausted = true,
  CanaryAborted = true,
  WorkspaceChanged = true,
  WorkspaceStalled = true,
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
  return result("Progressing", "Waiting for pt-operator to reconcile the endpoint")
end

-- A condition written for the spec Argo CD just synced; one without observedGeneration is as
-- current as the status it belongs to.
local function is_current(condition)
  if generation == nil then
    return true
  end
  if condition.observedGeneration ~= nil then
    return condition.observedGeneration == generation
  end
  return status.observedGeneration == generation
end

local synced = find_condition(status.conditions, "Synced")
local ready = find_condition(status.conditions, "Ready")

-- Paused first: a paused object does not observe new generations, and says so.
if synced ~= nil and synced.status == "False" and synced.reason == "ReconcilePaused" then
  return result("Suspended", describe(synced))
end

-- managementPolicy Observe, and the endpoint differs from the spec: the operator changes nothing by
-- design, so the health is the endpoint's own (Ready, below), and a Healthy message names the drift.
local drifted = synced ~= nil and synced.status == "False" and synced.reason == "Drifted"

-- Synced=False comes before the generation check: a reconcile stopped by a rate limit or an
-- unready workspace has not recorded the generation yet, and its message says why.
if synced ~= nil and synced.status == "False" and not drifted and is_current(synced) then
  if TERMINAL_SYNCED_REASONS[synced.reason] then
    return result("Degraded", describe(synced))
  end
  -- RateLimited, ReconcileError, WorkspaceNotReady (missing, not verified yet, or its host unreachable): the
  -- operator retries on its own; WaitingForRollout: the new spec is sent once the rollout Databricks runs ends.
  return result("Progressing", describe(synced))
end

-- Conditions of an older spec say nothing about the one Argo CD just synced.
if generation ~= nil and status.observedGeneration ~= generation then
  local seen = "no generation reconciled yet"
  if status.observedGeneration ~= nil then
    seen = "status is for generation " .. status.observedGeneration
  end
  return result("Progressing", "Waiting for pt-operator to reconcile generation " .. generation .. " (" .. seen .. ")")
end

-- A canary rollout of spec.model.version (docs/concepts.md): a step that waits (its pause, or a hold)
-- is Suspended, a step rolling out or the promotion is Progressing, an abort, a step whose rollout
-- failed or a rollback that failed is Degraded (the old version serves; the spec's does not). Checked before Ready, which is False CanaryInProgress while a
-- step serves: the phase says more.
local canary = status.canary
if canary ~= nil and obj.spec ~= nil and obj.spec.model ~= nil and canary.toVersion == obj.spec.model.version then
  local said = canary.message or ""
  if canary.phase == "Paused" or canary.phase == "Holding" then
    return result("Suspended", "Canary " .. canary.phase .. ": " .. said)
  end
  if canary.phase == "Progressing" or canary.phase == "Promoting" then
    return result("Progressing", "Canary " .. canary.phase .. ": " .. said)
  end
  if canary.phase == "Aborted" or canary.phase == "StepFailed" or canary.phase == "RollbackFailed" then
    return result("Degraded", "Canary " .. canary.phase .. ": " .. said)
  end
end

if ready == nil then
  return result("Progressing", "Waiting for pt-operator to report the Ready condition")
end
if not is_current(ready) then
  return result("Progressing", "Waiting for the Ready condition of generation " .. generation)
end
if ready.status == "True" then
  if drifted then
    return result("Healthy", describe(synced))
  end
  return result("Healthy", ready.message or "Available")
end
if ready.reason == "UpdateFailed" then
  return result("Degraded", describe(ready))
end
-- Creating, Updating, WaitingForCapacity (within the retry budget), Deleting, NotReady, CanaryInProgress,
-- EndpointNotFound (Observe: whoever manages the endpoint may create it yet).
return result("Progressing", describe(ready))
