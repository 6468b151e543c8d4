/** Retention: the pure planner, the mark-then-sweep runner, the lease and the scheduler. */
export * from './planner.ts';
export * from './chain-plan.ts';
export * from './sweeper.ts';
export * from './lease.ts';
export * from './scheduler.ts';
