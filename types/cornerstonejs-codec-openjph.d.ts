// @cornerstonejs/codec-openjph ships an Emscripten factory without types. The embind classes
// it creates are typed where they are used (libs/dicom/src/pixel/wasm-codecs.ts).
declare module '@cornerstonejs/codec-openjph/wasmjs' {
  const factory: (moduleArg?: object) => Promise<unknown>;
  export default factory;
}
