/** Retention: the pure planner (the sweeper and scheduler build on it). */
export * from './planner.ts';
