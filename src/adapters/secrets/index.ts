export { awsStore } from './aws-store.js';
export type { AwsStoreOptions } from './aws-store.js';
export { fileStore } from './file-store.js';
export { memoryStore } from './memory-store.js';
