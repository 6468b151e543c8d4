/** Retention: the pure planner and the mark-then-sweep runner. */
export * from './planner.ts';
export * from './sweeper.ts';
