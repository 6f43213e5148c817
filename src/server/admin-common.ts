// What the admin handlers share about per-item answers: the error code and message of one topic or
// resource (a thrown failure mapped to Kafka's code, or a refusal the handler decides itself), and
// answering each distinct item of a request once (an item named twice is refused, as Kafka does).
// No I/O, no engine access.
import { ERROR_CODES } from '../protocol/error-codes.ts';
import { kafkaErrorCode, kafkaErrorMessage } from './kafka-errors.ts';

/** The error fields of one item of an admin response. */
export interface Outcome {
  readonly errorCode: number;
  readonly errorMessage: string | null;
}

export const SUCCESS: Outcome = { errorCode: ERROR_CODES.NONE, errorMessage: null };

/** The outcome of an item whose work threw `error`. */
export function failure(error: unknown): Outcome {
  return { errorCode: kafkaErrorCode(error), errorMessage: kafkaErrorMessage(error) };
}

/** The outcome of an item refused with a Kafka error that no onelog failure maps to. */
export function refusal(errorCode: number, errorMessage: string): Outcome {
  return { errorCode, errorMessage };
}

/**
 * Answers the items of a request in order, each distinct item once: `act` on one named once, and for one
 * named more than once (by `key`) a single INVALID_REQUEST answer from `refuse`: none of its occurrences
 * is acted on, as Kafka does.
 */
export function answerEach<T, R>(items: readonly T[], key: (item: T) => string, act: (item: T) => R | Promise<R>, refuse: (item: T, outcome: Outcome) => R): Promise<R[]> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  const answered = new Set<string>();
  const answers: (R | Promise<R>)[] = [];
  for (const item of items) {
    const k = key(item);
    if (counts.get(k) === 1) answers.push(act(item));
    else if (!answered.has(k)) {
      answered.add(k);
      answers.push(refuse(item, refusal(ERROR_CODES.INVALID_REQUEST, `The request names ${k} more than once.`)));
    }
  }
  return Promise.all(answers);
}
