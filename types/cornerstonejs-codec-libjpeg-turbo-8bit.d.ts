// @cornerstonejs/codec-libjpeg-turbo-8bit ships Emscripten factories without types. The embind classes
// they create are typed where they are used (libs/dicom/src/pixel/wasm-codecs.ts).
declare module '@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs' {
  const factory: (moduleArg?: object) => Promise<unknown>;
  export default factory;
}
declare module '@cornerstonejs/codec-libjpeg-turbo-8bit/wasmjs' {
  const factory: (moduleArg?: object) => Promise<unknown>;
  export default factory;
}
