// Test helper: kafkajs' round-robin assignor under the protocol name Kafka's Java clients and onelog's
// embedded consumer use ('roundrobin'; kafkajs calls it 'RoundRobinAssigner'), so kafkajs members and
// embedded members of one group agree on a protocol. Assignment logic is kafkajs' own.
import { PartitionAssigners as KafkajsAssigners, type PartitionAssigner } from 'kafkajs';

export const javaRoundRobin: PartitionAssigner = (config) => ({ ...KafkajsAssigners.roundRobin(config), name: 'roundrobin' });
