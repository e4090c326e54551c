import 'reflect-metadata';
import { loadConfigFromEnvironment } from '@app/config';

const config = loadConfigFromEnvironment();
console.log(JSON.stringify({ msg: 'config loaded', brokers: config.kafka.brokers }));
