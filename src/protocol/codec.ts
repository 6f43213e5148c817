// Shared pieces of the Kafka message codec: the codec shape every generated message exposes, the
// version guard the generated encoders and decoders call first, and the zero UUID. Pure: no I/O.
import { OnelogError } from '../errors.ts';
import type { Reader } from './reader.ts';
import type { Writer } from './writer.ts';

/** The text form of Kafka's all-zero UUID, the default of every uuid field. */
export const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

/** One message type's codec: method syntax so a table of codecs can be viewed as MessageCodec<unknown>. */
export interface MessageCodec<T> {
  encode(writer: Writer, message: T, version: number): void;
  decode(reader: Reader, version: number): T;
}

/** Throws unless `version` is an integer within [min, max], the message's validVersions. */
export function assertVersion(message: string, version: number, min: number, max: number): void {
  if (!Number.isInteger(version) || version < min || version > max) {
    throw new OnelogError('INVALID_ARGUMENT', `${message} has no version ${version} (valid: ${min}-${max})`);
  }
}
