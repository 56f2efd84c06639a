/**
 * Partition keys for the sparse "work to do" indexes. One constant partition key would funnel
 * every write of a busy stack into one index partition (API Gateway admits 500 new connections a
 * second); spreading items over a few shards keeps writes apart, and the sweep queries each shard.
 */
export class IndexShards {
  constructor(
    private readonly prefix: string,
    private readonly count: number,
  ) {}

  /** The shard an item belongs to: a stable hash of its key. */
  of(itemKey: string): string {
    let hash = 0;
    for (let i = 0; i < itemKey.length; i++) hash = (hash * 31 + itemKey.charCodeAt(i)) >>> 0;
    return `${this.prefix}#${hash % this.count}`;
  }

  all(): string[] {
    return Array.from({ length: this.count }, (_, shard) => `${this.prefix}#${shard}`);
  }
}
