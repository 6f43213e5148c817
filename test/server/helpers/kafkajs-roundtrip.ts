// Test helper: the smallest proof that a kafkajs client works against a listener: it produces `count`
// values to a new topic and reads them back with a group consumer, resolving with what was read. The
// security settings (ssl, sasl) are the caller's; the topic and group names are derived from `name`.
import { Kafka, logLevel, type KafkaConfig } from 'kafkajs';

export type ClientSecurity = Pick<KafkaConfig, 'ssl' | 'sasl'>;

export async function kafkajsRoundTrip(broker: string, security: ClientSecurity, name: string, count = 5): Promise<string[]> {
  const kafka = new Kafka({ clientId: name, brokers: [broker], logLevel: logLevel.NOTHING, retry: { retries: 0 }, ...security });
  const values = Array.from({ length: count }, (_, i) => `${name} ${String(i)}`);
  const producer = kafka.producer({ allowAutoTopicCreation: true });
  await producer.connect();
  try {
    await producer.send({ topic: name, messages: values.map((value) => ({ value })) });
  } finally {
    await producer.disconnect();
  }
  const consumer = kafka.consumer({ groupId: `${name}-group`, sessionTimeout: 6000, heartbeatInterval: 500 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic: name, fromBeginning: true });
    const read: string[] = [];
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          eachMessage: ({ message }) => {
            read.push(message.value?.toString() ?? '');
            if (read.length >= count) resolve();
            return Promise.resolve();
          },
        })
        .catch(reject);
    });
    return read;
  } finally {
    await consumer.disconnect();
  }
}

/** Connects a kafkajs admin and resolves with the error it failed with, or null when it connected. */
export async function kafkajsConnectError(broker: string, security: ClientSecurity): Promise<Error | null> {
  const kafka = new Kafka({ clientId: 'refused', brokers: [broker], logLevel: logLevel.NOTHING, retry: { retries: 0 }, connectionTimeout: 3000, ...security });
  const admin = kafka.admin();
  try {
    await admin.connect();
    await admin.listTopics();
    return null;
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  } finally {
    await admin.disconnect();
  }
}
