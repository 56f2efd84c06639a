/**
 * Assessments on DynamoDB: one item per (user, test), keyed by the connection key, which is
 * injective. Every change is one conditional write on that item, so exactly-once answers need
 * no transactions (which dynalite lacks) and no read-then-write.
 * The chosen option's text (up to 500 characters) is stored once, in `answers`; `requestIds` maps
 * each request id to its question only, and the option is read back from `answers` (a question
 * is answered once and never changes, so that is the option the request stored). DynamoDB bills
 * a write by the item's size, so this halves what every later write of the item costs.
 * In-progress items carry `activeShard`, which puts them in the sparse deadline index that the
 * sweep queries; completion removes it.
 * `holderEpoch` fences replaced connections: auth raises it to the epoch of the key claim it won,
 * and every write from a connection is conditional on it being no greater than that
 * connection's own. An auth before the attempt starts leaves a holder-only item (no `status`),
 * which reads as no attempt.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { connectionKey, parseConnectionKey } from '../../core/connection-key';
import { ownValue, setOwn } from '../../core/own-keys';
import type {
  AnswerRecord,
  AnswerWrite,
  AssessmentRecord,
  AssessmentStore,
  CompletionWrite,
  CreateResult,
  NewAssessment,
} from '../../core/ports';
import { IndexShards } from './shards';
import { ACTIVE_SHARDS, ASSESSMENTS_TABLE } from './table-definitions';

const ACTIVE_INDEX = ASSESSMENTS_TABLE.indexes[0]?.indexName ?? 'active-by-deadline';

const ACTIVE = new IndexShards('active', ACTIVE_SHARDS);

/** The stored item: the record's fields, flattened completion, and the index attribute. */
interface AssessmentItem extends Omit<AssessmentRecord, 'completion' | 'requestIds'> {
  /** request id -> question id (items written before the option was dropped hold the answer). */
  requestIds: Record<string, string | AnswerRecord>;
  pk: string;
  activeShard?: string;
  completionReason?: 'submitted' | 'time_up';
  score?: number;
  completedAtMs?: number;
}

function toRecord(item: AssessmentItem): AssessmentRecord {
  const answers = fromStoredMap(item.answers);
  return {
    userId: item.userId,
    testId: item.testId,
    assessmentId: item.assessmentId,
    threadId: item.threadId,
    status: item.status,
    startedAtMs: item.startedAtMs,
    deadlineMs: item.deadlineMs,
    total: item.total,
    answeredCount: item.answeredCount,
    answers,
    requestIds: requestIdsOf(fromStoredMap(item.requestIds), answers),
    ...(typeof item.holderEpoch === 'number' ? { holderEpoch: item.holderEpoch } : {}),
    ...(typeof item.aiTurnsDelivered === 'number' ? { aiTurnsDelivered: item.aiTurnsDelivered } : {}),
    ...(item.status === 'completed' && item.completionReason
      ? {
          completion: {
            reason: item.completionReason,
            score: item.score ?? 0,
            completedAtMs: item.completedAtMs ?? item.deadlineMs,
          },
        }
      : {}),
  };
}

/**
 * Map keys are stored with a prefix: the SDK's unmarshalling drops a key named `__proto__`, and
 * request ids are chosen by clients, so a stored key must never be a bare client string.
 */
const STORED_KEY_PREFIX = '=';
const storedKey = (key: string) => `${STORED_KEY_PREFIX}${key}`;

function fromStoredMap<T>(stored: Record<string, T> | undefined): Record<string, T> {
  return Object.fromEntries(
    Object.entries(stored ?? {})
      .filter(([key]) => key.startsWith(STORED_KEY_PREFIX))
      .map(([key, value]) => [key.slice(STORED_KEY_PREFIX.length), value]),
  );
}

function requestIdsOf(
  stored: Record<string, string | AnswerRecord>,
  answers: Record<string, string>,
): Record<string, AnswerRecord> {
  const requestIds: Record<string, AnswerRecord> = {};
  for (const [requestId, value] of Object.entries(stored)) {
    if (typeof value !== 'string') {
      setOwn(requestIds, requestId, value);
      continue;
    }
    // Written in the same update as the answer, which never changes afterwards.
    const option = ownValue(answers, value);
    if (option !== undefined) setOwn(requestIds, requestId, { questionId: value, option });
  }
  return requestIds;
}

const isConditionFailure = (error: unknown) => error instanceof ConditionalCheckFailedException;

/** A holder-only item (bound by auth before the attempt started) is not an attempt. */
const isAttempt = (item: Record<string, unknown> | undefined): boolean =>
  item !== undefined && typeof item.status === 'string';

/** Writes from a connection hold only while no later connection holds the attempt. */
const HOLDER_CONDITION = '(attribute_not_exists(holderEpoch) OR holderEpoch <= :epoch)';

export class DynamoAssessmentStore implements AssessmentStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async get(userId: string, testId: string): Promise<AssessmentRecord | null> {
    const { Item } = await this.doc.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: connectionKey(userId, testId) },
        ConsistentRead: true,
      }),
    );
    return isAttempt(Item) ? toRecord(Item as AssessmentItem) : null;
  }

  async create(assessment: NewAssessment & { holderEpoch: number }): Promise<CreateResult> {
    const pk = connectionKey(assessment.userId, assessment.testId);
    const item: AssessmentItem = {
      pk,
      ...assessment,
      status: 'in_progress',
      answeredCount: 0,
      answers: {},
      requestIds: {},
      activeShard: ACTIVE.of(pk),
    };
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: item,
          ConditionExpression: `attribute_not_exists(#status) AND ${HOLDER_CONDITION}`,
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':epoch': assessment.holderEpoch },
        }),
      );
      return { created: true, record: toRecord(item) };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: { pk }, ConsistentRead: true }),
    );
    if (isAttempt(Item)) return { created: false, record: toRecord(Item as AssessmentItem) };
    // No attempt, so the refusal was the holder condition: a later connection holds this key.
    return { fenced: true };
  }

  async bindHolder(
    userId: string,
    testId: string,
    epoch: number,
  ): Promise<{ record: AssessmentRecord | null; fenced: boolean }> {
    const pk = connectionKey(userId, testId);
    try {
      const { Attributes } = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk },
          UpdateExpression: 'SET holderEpoch = :epoch',
          ConditionExpression: 'attribute_not_exists(holderEpoch) OR holderEpoch < :epoch',
          ExpressionAttributeValues: { ':epoch': epoch },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return { record: isAttempt(Attributes) ? toRecord(Attributes as AssessmentItem) : null, fenced: false };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    // Refused: this epoch (a retried auth) or a later one holds the attempt already.
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: { pk }, ConsistentRead: true }),
    );
    const held = typeof Item?.holderEpoch === 'number' ? Item.holderEpoch : epoch;
    return { record: isAttempt(Item) ? toRecord(Item as AssessmentItem) : null, fenced: held > epoch };
  }

  async recordAnswer(write: AnswerWrite): Promise<AssessmentRecord | null> {
    return this.conditionalUpdate(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: connectionKey(write.userId, write.testId) },
        UpdateExpression:
          'SET answers.#question = :option, requestIds.#request = :answer, answeredCount = answeredCount + :one, holderEpoch = :epoch',
        ConditionExpression: `#status = :inProgress AND answeredCount = :index AND deadlineMs > :now AND attribute_not_exists(requestIds.#request) AND ${HOLDER_CONDITION}`,
        ExpressionAttributeNames: {
          '#question': storedKey(write.questionId),
          '#request': storedKey(write.requestId),
          '#status': 'status',
        },
        ExpressionAttributeValues: {
          ':option': write.option,
          ':answer': write.questionId,
          ':one': 1,
          ':inProgress': 'in_progress',
          ':index': write.questionIndex,
          ':now': write.nowMs,
          ':epoch': write.epoch,
        },
        ReturnValues: 'ALL_NEW',
      }),
    );
  }

  async complete(write: CompletionWrite): Promise<AssessmentRecord | null> {
    return this.conditionalUpdate(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: connectionKey(write.userId, write.testId) },
        UpdateExpression:
          'SET #status = :completed, completionReason = :reason, score = :score, completedAtMs = :at REMOVE activeShard',
        ConditionExpression:
          write.epoch === undefined
            ? '#status = :inProgress AND answeredCount = :expected'
            : `#status = :inProgress AND answeredCount = :expected AND ${HOLDER_CONDITION}`,
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ...(write.epoch === undefined ? {} : { ':epoch': write.epoch }),
          ':completed': 'completed',
          ':inProgress': 'in_progress',
          ':reason': write.reason,
          ':score': write.score,
          ':at': write.completedAtMs,
          ':expected': write.expectedAnsweredCount,
        },
        ReturnValues: 'ALL_NEW',
      }),
    );
  }

  async recordAiTurns(userId: string, testId: string, delivered: number): Promise<void> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: connectionKey(userId, testId) },
          UpdateExpression: 'SET aiTurnsDelivered = :delivered',
          // False when the attribute is absent: only attempts with an AI thread carry the count,
          // and a slower request that delivered fewer turns never lowers it.
          ConditionExpression: 'aiTurnsDelivered < :delivered',
          ExpressionAttributeValues: { ':delivered': delivered },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  /** The updated record, or null when the write's condition did not hold. */
  private async conditionalUpdate(command: UpdateCommand): Promise<AssessmentRecord | null> {
    try {
      const { Attributes } = await this.doc.send(command);
      return isAttempt(Attributes) ? toRecord(Attributes as AssessmentItem) : null;
    } catch (error) {
      if (isConditionFailure(error)) return null;
      throw error;
    }
  }

  async findOverdue(nowMs: number, limit: number): Promise<{ userId: string; testId: string }[]> {
    const found: { userId: string; testId: string }[] = [];
    for (const shard of ACTIVE.all()) {
      if (found.length >= limit) break;
      const { Items = [] } = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: ACTIVE_INDEX,
          KeyConditionExpression: 'activeShard = :shard AND deadlineMs <= :now',
          ExpressionAttributeValues: { ':shard': shard, ':now': nowMs },
          Limit: limit - found.length,
        }),
      );
      for (const item of Items) {
        const { userId, testId } = parseConnectionKey(String(item.pk));
        if (testId !== null) found.push({ userId, testId });
      }
    }
    return found;
  }
}
