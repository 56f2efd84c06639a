/**
 * The DynamoDB tables, described once. The CDK construct and the local stack both create their
 * tables from these definitions, so the deployed and local shapes cannot drift.
 */
export interface KeyAttribute {
  readonly name: string;
  readonly type: 'S' | 'N';
}

export interface IndexDefinition {
  readonly indexName: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey: KeyAttribute;
  /** Sparse indexes: only items that carry the partition key attribute appear in them. */
  readonly projection: 'KEYS_ONLY' | 'ALL';
}

export interface TableDefinition {
  readonly partitionKey: KeyAttribute;
  /** TTL attribute, epoch seconds. DynamoDB deletes late (up to 48 h), so reads filter too. */
  readonly ttlAttribute?: string;
  readonly indexes: readonly IndexDefinition[];
}

export const CONNECTIONS_TABLE: TableDefinition = {
  partitionKey: { name: 'pk', type: 'S' },
  ttlAttribute: 'ttl',
  indexes: [
    {
      indexName: 'pending-by-auth-deadline',
      partitionKey: { name: 'pendingBucket', type: 'S' },
      sortKey: { name: 'authDeadlineMs', type: 'N' },
      projection: 'ALL',
    },
    {
      // Sparse: only the key records of assessment connections carry rosterTestId. The staff
      // report and the proctor snapshot list a test's students with one query.
      indexName: 'keys-by-test',
      partitionKey: { name: 'rosterTestId', type: 'S' },
      sortKey: { name: 'userId', type: 'S' },
      projection: 'ALL',
    },
  ],
};

export const ASSESSMENTS_TABLE: TableDefinition = {
  partitionKey: { name: 'pk', type: 'S' },
  indexes: [
    {
      indexName: 'active-by-deadline',
      partitionKey: { name: 'activeShard', type: 'S' },
      sortKey: { name: 'deadlineMs', type: 'N' },
      projection: 'KEYS_ONLY',
    },
  ],
};

export const TESTS_TABLE: TableDefinition = {
  partitionKey: { name: 'testId', type: 'S' },
  indexes: [],
};

export const TABLE_DEFINITIONS = {
  connections: CONNECTIONS_TABLE,
  assessments: ASSESSMENTS_TABLE,
  tests: TESTS_TABLE,
} as const;
export type TableName = keyof typeof TABLE_DEFINITIONS;

/** Connection and key records outlive API Gateway's 2 h connection maximum. */
export const CONNECTION_RECORD_TTL_SECONDS = 3 * 60 * 60;
/**
 * Key records carry the claim epoch that fences replaced connections, and the attempt's connection
 * history: they outlive the longest assessment (24 h), so an attempt's holder is never compared
 * with an epoch that restarted, and they stay 30 days after the last connection for the staff
 * report. (A restarted epoch starts from the clock, above any earlier one, in any case.)
 */
export const KEY_RECORD_TTL_SECONDS = 30 * 24 * 60 * 60;
/** Writes to the sparse work indexes are spread over this many partitions each (see shards.ts). */
export const ACTIVE_SHARDS = 4;
export const PENDING_SHARDS = 4;
