declare module 'node-gtk' {
  /** Loads a GObject-introspection namespace (e.g. 'Gst', '1.0'); see gst-types.ts for the typed slice. */
  export function require(namespace: string, version?: string): unknown;
  const gi: { require: typeof require };
  export default gi;
}
