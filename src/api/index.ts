/** The HTTP API: application and server start-up. */
export { createApp, type AppOptions } from './app.ts';
export { startServer, storeConfigOf, databaseUrlOf, openConfiguredArchive, type RunningServer } from './server.ts';
