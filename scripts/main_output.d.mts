// Types for scripts/main_output.mjs (the configs and the bench import it from TypeScript).
export const MAIN_OUTPUT_OPTIONS: Readonly<{ topLevelVar: boolean }>;
