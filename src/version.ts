/** Cairn's version (the package's), for the CLI and the API description. */
export const VERSION = '0.1.0';
