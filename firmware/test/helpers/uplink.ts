/** Two data centres for an Uplink under test (its stow and probe are the test's), A at home. */
export const TWO_DATA_CENTRES = {
  targets: {
    A: { name: 'A', dicomWebUrl: 'http://dc-a', timeoutMs: 1000 },
    B: { name: 'B', dicomWebUrl: 'http://dc-b', timeoutMs: 1000 },
  },
  home: 'A',
} as const;
