// What the demo prints at the end: next-step commands only when the cluster is still there (--keep).

export interface DemoEnvironment {
  kubectl: string;
  kubeconfigAdmin: string;
  namespace: string;
  emulatorUrl: string;
}

export function closingAdvice(keep: boolean, env: DemoEnvironment): string {
  if (!keep) {
    return 'The demo now removes everything it started. Run `npm run demo -- --keep` to keep the cluster, the emulator and the operator running and try things yourself.';
  }
  const kubectlCmd = `${env.kubectl} --kubeconfig ${env.kubeconfigAdmin} -n ${env.namespace}`;
  return `What to try next (everything keeps running until Ctrl-C):
  ${kubectlCmd} get events --field-selector reason=CapacityUnavailable   # the capacity hiccup: which endpoint hit it
  ${kubectlCmd} describe pte llama-chat                      # conditions and one Event per transition
  ${kubectlCmd} patch pte llama-chat --type merge -p '{"spec":{"model":{"version":"2"}}}'
  ${kubectlCmd} get pte -w                                   # watch the rollout: served vs pending
  ${kubectlCmd} annotate pte gte-embeddings ptoperator.io/paused=true
  ${kubectlCmd} delete pte gpt-oss                           # deletes the Databricks endpoint too
  curl ${env.emulatorUrl}/__emulator/calls                     # every call the operator made`;
}
