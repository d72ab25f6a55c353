// Channel elements and their coupling: every output channel of a prunable layer is an element; ops that
// tie channels together (a residual Add, an SE Mul, a head's d columns) unite them in a union-find, so
// a class of united elements is removed all at once or not at all. A class that reaches something the
// pass cannot follow is fixed, with the reason and the node.

export class ChannelSets {
  private parent: number[] = [];
  private fixedWhy = new Map<number, string>();

  /** Fresh elements, one per channel. */
  create(n: number): Int32Array {
    const ids = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      ids[i] = this.parent.length;
      this.parent.push(this.parent.length);
    }
    return ids;
  }

  get size(): number {
    return this.parent.length;
  }

  find(x: number): number {
    let r = x;
    while (this.parent[r] !== r) r = this.parent[r]!;
    while (this.parent[x] !== r) {
      const next = this.parent[x]!;
      this.parent[x] = r;
      x = next;
    }
    return r;
  }

  union(a: number, b: number): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra === rb) return;
    this.parent[rb] = ra;
    const why = this.fixedWhy.get(rb);
    if (why !== undefined && !this.fixedWhy.has(ra)) this.fixedWhy.set(ra, why);
    this.fixedWhy.delete(rb);
  }

  fix(x: number, why: string): void {
    const r = this.find(x);
    if (!this.fixedWhy.has(r)) this.fixedWhy.set(r, why);
  }

  fixAll(ids: Int32Array, why: string): void {
    for (const x of ids) this.fix(x, why);
  }

  /** Why the class of x cannot be removed, or undefined when it can. */
  fixed(x: number): string | undefined {
    return this.fixedWhy.get(this.find(x));
  }
}
