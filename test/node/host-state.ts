// What the node tier must leave as it found it on the host: mounts, firewall rules, the sysctls the
// kubelet sets, and processes. The global setup takes a snapshot before the cluster starts and compares
// after it stopped.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

export interface HostState {
  mounts: string[];
  /** iptables-save and nft rulesets, or what says they are not installed (then no rule can have changed) */
  firewall: string;
  sysctls: Record<string, string>;
  /** processes whose command line names the cluster directory */
  processes: string[];
}

const KUBELET_SYSCTLS = ['vm/overcommit_memory', 'vm/panic_on_oom', 'kernel/panic', 'kernel/panic_on_oops', 'kernel/keys/root_maxkeys', 'kernel/keys/root_maxbytes'];

function commandOutput(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
      .split('\n')
      .filter((line) => !line.startsWith('#')) // iptables-save's comments carry a timestamp
      .join('\n');
  } catch (error) {
    return `${command}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'not installed' : String(error)}`;
  }
}

export function hostState(clusterDir: string): HostState {
  const tables = existsSync('/proc/net/ip_tables_names') ? readFileSync('/proc/net/ip_tables_names', 'utf8') : '';
  return {
    mounts: readFileSync('/proc/mounts', 'utf8').trim().split('\n'),
    firewall: [`kernel tables: ${tables.trim()}`, commandOutput('iptables-save', []), commandOutput('ip6tables-save', []), commandOutput('nft', ['list', 'ruleset'])].join('\n'),
    sysctls: Object.fromEntries(KUBELET_SYSCTLS.map((key) => [key, readFileSync(`/proc/sys/${key}`, 'utf8').trim()])),
    processes: commandOutput('pgrep', ['-af', `${clusterDir}/`])
      .split('\n')
      .filter((line) => /^\d+ /.test(line)),
  };
}

/** What changed between two snapshots; mounts of other test clusters (other work trees) are not ours. */
export function hostChanges(before: HostState, after: HostState, clusterDir: string): string[] {
  const changes: string[] = [];
  const ours = (line: string) => line.includes(clusterDir) || !/\/\.cluster[^/ ]*\//.test(line);
  for (const line of after.mounts) if (!before.mounts.includes(line) && ours(line)) changes.push(`new mount: ${line}`);
  for (const line of before.mounts) if (!after.mounts.includes(line) && ours(line)) changes.push(`mount gone: ${line}`);
  if (before.firewall !== after.firewall) changes.push(`firewall rules changed:\n--- before\n${before.firewall}\n--- after\n${after.firewall}`);
  for (const [key, value] of Object.entries(before.sysctls)) {
    if (after.sysctls[key] !== value) changes.push(`sysctl ${key}: ${value} -> ${after.sysctls[key]}`);
  }
  for (const line of after.processes) changes.push(`process left: ${line}`);
  return changes;
}
