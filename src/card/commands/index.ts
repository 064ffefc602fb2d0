export * from './command';
export * from './select';
export * from './binary';
export * from './record';
export * from './security';
export * from './auth';
export * from './pso';
export * from './data';
