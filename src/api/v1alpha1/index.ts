export * from './common.js';
export * from './endpoint.js';
export * from './endpoint-status.js';
export * from './workspace.js';
export * from './resources.js';
export * from './endpoint-settings.js';
