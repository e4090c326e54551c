// @cornerstonejs/codec-charls ships Emscripten factories without types. The embind classes
// they create are typed where they are used (libs/dicom/src/pixel/wasm-codecs.ts).
declare module '@cornerstonejs/codec-charls/decodewasmjs' {
  const factory: (moduleArg?: object) => Promise<unknown>;
  export default factory;
}
declare module '@cornerstonejs/codec-charls/wasmjs' {
  const factory: (moduleArg?: object) => Promise<unknown>;
  export default factory;
}
