export * from '../../src/demo/traffic.js';
