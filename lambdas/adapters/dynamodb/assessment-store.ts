/**
 * Assessments on DynamoDB: one item per (user, test), keyed by the connection key, which is
 * injective. Every change is one conditional write on that item, so exactly-once answers need
 * no transactions (which dynalite lacks) and no read-then-write.
 * In-progress items carry `activeShard`, which puts them in the sparse deadline index that the
 * sweep queries; completion removes it.
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
import type {
  AnswerWrite,
  AssessmentRecord,
  AssessmentStore,
  CompletionWrite,
  NewAssessment,
} from '../../core/ports';
import { IndexShards } from './shards';
import { ACTIVE_SHARDS, ASSESSMENTS_TABLE } from './table-definitions';

const ACTIVE_INDEX = ASSESSMENTS_TABLE.indexes[0]?.indexName ?? 'active-by-deadline';

const ACTIVE = new IndexShards('active', ACTIVE_SHARDS);

/** The stored item: the record's fields, flattened completion, and the index attribute. */
interface AssessmentItem extends Omit<AssessmentRecord, 'completion'> {
  pk: string;
  activeShard?: string;
  completionReason?: 'submitted' | 'time_up';
  score?: number;
  completedAtMs?: number;
}

function toRecord(item: AssessmentItem): AssessmentRecord {
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
    answers: fromStoredMap(item.answers),
    requestIds: fromStoredMap(item.requestIds),
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

const isConditionFailure = (error: unknown) => error instanceof ConditionalCheckFailedException;

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
    return Item ? toRecord(Item as AssessmentItem) : null;
  }

  async create(assessment: NewAssessment): Promise<{ created: boolean; record: AssessmentRecord }> {
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
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return { created: true, record: toRecord(item) };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    const existing = await this.get(assessment.userId, assessment.testId);
    if (!existing) throw new Error('assessment vanished between a refused create and its read');
    return { created: false, record: existing };
  }

  async recordAnswer(write: AnswerWrite): Promise<AssessmentRecord | null> {
    return this.conditionalUpdate(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: connectionKey(write.userId, write.testId) },
        UpdateExpression:
          'SET answers.#question = :option, requestIds.#request = :answer, answeredCount = answeredCount + :one',
        ConditionExpression:
          '#status = :inProgress AND answeredCount = :index AND deadlineMs > :now AND attribute_not_exists(requestIds.#request)',
        ExpressionAttributeNames: {
          '#question': storedKey(write.questionId),
          '#request': storedKey(write.requestId),
          '#status': 'status',
        },
        ExpressionAttributeValues: {
          ':option': write.option,
          ':answer': { questionId: write.questionId, option: write.option },
          ':one': 1,
          ':inProgress': 'in_progress',
          ':index': write.questionIndex,
          ':now': write.nowMs,
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
        ConditionExpression: '#status = :inProgress AND answeredCount = :expected',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
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

  /** The updated record, or null when the write's condition did not hold. */
  private async conditionalUpdate(command: UpdateCommand): Promise<AssessmentRecord | null> {
    try {
      const { Attributes } = await this.doc.send(command);
      return Attributes ? toRecord(Attributes as AssessmentItem) : null;
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
