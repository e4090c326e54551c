import 'reflect-metadata';
import { loadConfigFromEnvironment } from '@app/config';

const config = loadConfigFromEnvironment();
process.stdout.write(`${JSON.stringify({ msg: 'config loaded', brokers: config.kafka.brokers })}\n`);
