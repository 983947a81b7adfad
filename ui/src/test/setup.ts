// Vitest set-up: Testing Library cleans the DOM after each test (globals are on).
export {};
