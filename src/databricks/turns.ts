// Turns between namespaces for a host's create/update window (window-budget.ts). Every namespace whose workspaces
// point at one Databricks host shares that host's 50 calls per 5 minutes. First come, first served, a namespace that
// queued 500 creates put another namespace's one change behind all of them (50 minutes). Instead, callers that wait
// for a slot (requeued for it) stand in one line of turns, and a newcomer's turn goes after its own namespace's turns
// and one turn of every other namespace per turn of its own: round robin between the namespaces waiting.
//
// The slots themselves never change: a newcomer takes the slot of the turn it goes before, and that turn and every
// later one move one slot on, the last to a new slot at the end of the window. A turn therefore only moves later,
// so a caller requeued for its slot never comes back too late for it, and the window never holds more than its limit.
// Callers sleeping in process for a slot (a short wait) keep theirs: they are not in the line.

/** A caller waiting for its turn: who it is and the namespace whose turns it counts among. */
export interface Turn {
  holder: string;
  tenant: string;
}

/**
 * Where a new turn of `tenant` goes in `line` (turns still to come, in order): before the first turn that is its
 * namespace's (k+2)-th, k being the turns `tenant` has in the line already; undefined: at the end.
 */
export function turnIndex(line: readonly Pick<Turn, 'tenant'>[], tenant: string): number | undefined {
  const round = line.filter((turn) => turn.tenant === tenant).length + 1;
  const seen = new Map<string, number>();
  for (let i = 0; i < line.length; i++) {
    const namespace = (line[i] as Turn).tenant;
    const count = (seen.get(namespace) ?? 0) + 1;
    if (count > round) return i;
    seen.set(namespace, count);
  }
  return undefined;
}

/**
 * The line of turns, in slot order. Turns whose slot has come (due, not yet claimed) stay at its head until claimed
 * or pruned; a newcomer never goes before them.
 */
export class TurnLine {
  private line: Turn[] = [];

  /** Index of the new turn of `tenant` among the turns to come (`due(holder)`: its slot has come); undefined: last. */
  place(tenant: string, due: (holder: string) => boolean): number | undefined {
    let first = 0;
    while (first < this.line.length && due((this.line[first] as Turn).holder)) first++;
    const index = turnIndex(this.line.slice(first), tenant);
    return index === undefined ? undefined : first + index;
  }

  holderAt(index: number): string {
    return (this.line[index] as Turn).holder;
  }

  /** holders from `index` to the end, in order */
  from(index: number): string[] {
    return this.line.slice(index).map((turn) => turn.holder);
  }

  insert(index: number, turn: Turn): void {
    this.line.splice(index, 0, turn);
  }

  push(turn: Turn): void {
    this.line.push(turn);
  }

  remove(holder: string): void {
    const index = this.line.findIndex((turn) => turn.holder === holder);
    if (index >= 0) this.line.splice(index, 1);
  }

  get length(): number {
    return this.line.length;
  }
}
